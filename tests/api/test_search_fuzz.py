"""Search queries however they are written: never a 500, never FTS syntax reaching the database, and never
a stranger's message in the answer."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.teams import create_workspace
from threadline.database.repositories.search import fts5_expression, tsquery_expression
from threadline.models.domain.search import SearchQuery, SearchSyntaxError

SECRET_WORDS = "alpha beta gamma NEAR OR AND NOT body content title * : ^ ( ) { } + - \" ' \\ ; ."
"""What the stranger's messages say: every word and operator a query below can be made of."""

pieces = st.sampled_from(
    [
        *SECRET_WORDS.split(),
        "NEAR(alpha beta)",
        "body:alpha",
        "{body}:beta",
        "alpha*",
        '"alpha beta"',
        "-alpha",
        "--",
        "-",
        '"',
        "''",
        "\\",
        "%",
        "_",
        "&",
        "|",
        "!",
        "<->",
        ":*",
        "é",
        "日本語",
        "🙂",
        "\u0301",
        "\ufdd0",
        "\ufdd1",
        "\x01",
        "ß",
        "İ",
    ]
)
queries = st.lists(pieces | st.text(max_size=6), min_size=1, max_size=8).map(" ".join) | st.text(max_size=30)
fuzz = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
async def stranger_world(client: httpx.AsyncClient, alice: Account) -> Account:
    """A stranger whose workspace holds messages of every word the queries use; ``alice`` has one word."""
    stranger = await sign_up(client, name="Stranger")
    workspace = await create_workspace(stranger)
    conversation = await create_conversation(stranger, workspace["id"], title=SECRET_WORDS)
    for text in (SECRET_WORDS, "alpha beta", "alpha", "日本語 é 🙂"):
        await post_message(stranger, conversation["id"], text)
    mine = await create_conversation(alice, (await create_workspace(alice))["id"])
    await post_message(alice, mine["id"], "mine")
    return stranger


@fuzz
@given(q=queries)
@example(q='alpha" OR "beta')
@example(q="NEAR(alpha beta, 2)")
@example(q="body:alpha")
@example(q="alpha OR *")
@example(q="'alpha' | 'beta'")
@example(q="alpha:* | !beta")
async def test_a_stranger_s_messages_are_never_found(stranger_world: Account, alice: Account, q: str) -> None:
    for params in ({"q": q}, {"q": q, "sort": "relevance"}, {"q": f"{q} mine"}):
        response = await alice.get("/v1/search", params=params)
        assert response.status_code in (200, 422), (params, response.text)
        if response.status_code == 200:
            hits = response.json()["items"]
            assert all("mine" in hit["snippet"] for hit in hits), (params, hits)
        else:
            assert response.json()["errors"][0]["type"] in {
                "search_syntax",
                "string_too_long",
                "string_too_short",
            }


@settings(max_examples=300, deadline=None)
@given(q=st.text(max_size=60))
def test_every_readable_query_renders_only_quoted_words(q: str) -> None:
    """What reaches the database: quoted words joined by the parser's own operators, nothing typed."""
    try:
        query = SearchQuery.parse(q)
    except SearchSyntaxError:
        return
    fts5 = fts5_expression(query)
    tsquery = tsquery_expression(query)
    for term in (*query.required, *query.excluded):
        assert all(word.isalnum() for word in term.words), term
    unquoted_fts5 = "".join(part for i, part in enumerate(fts5.split('"')) if i % 2 == 0)
    assert set(unquoted_fts5) <= set("() ANDOT*"), fts5
    unquoted_ts = "".join(part for i, part in enumerate(tsquery.split("'")) if i % 2 == 0)
    assert set(unquoted_ts) <= set("()<->&!:* "), tsquery
