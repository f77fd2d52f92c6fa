"""Search (docs/search.md): what is found, by whom, at once after each change, and in what order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.problems import assert_problem
from tests.support.seed import TEST_CLIENT_ADDRESS, add_account
from tests.support.teams import add_member, create_workspace
from threadline.app import create_app
from threadline.settings import Settings


async def search(account: Account, q: str, **params: Any) -> list[dict[str, Any]]:
    response = await account.get("/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def contents(hits: list[dict[str, Any]]) -> list[str]:
    return [hit["snippet"] for hit in hits]


async def _conversation(account: Account, title: str = "") -> dict[str, Any]:
    workspace = await create_workspace(account)
    return await create_conversation(account, workspace["id"], title=title)


async def test_a_hit_names_its_message_conversation_and_workspace(alice: Account) -> None:
    conversation = await _conversation(alice, "Holiday plans")
    await post_message(alice, conversation["id"], "We should visit the lighthouse on Tuesday")
    message = await post_message(
        alice, conversation["id"], "The <b>lighthouse</b> & the harbour", role="assistant"
    )

    [hit, _] = await search(alice, "lighthouse")

    assert hit == {
        "kind": "message",
        "workspace_id": conversation["workspace_id"],
        "conversation": {"id": conversation["id"], "title": "Holiday plans"},
        "message_id": message["id"],
        "seq": 2,
        "role": "assistant",
        "snippet": "The &lt;b&gt;<mark>lighthouse</mark>&lt;/b&gt; &amp; the harbour",
        "created_at": message["created_at"],
    }


async def test_conversation_titles_are_found(alice: Account) -> None:
    conversation = await _conversation(alice, "Quarterly budget review")
    await post_message(alice, conversation["id"], "numbers follow")

    [hit] = await search(alice, "budget")

    assert hit["kind"] == "conversation"
    assert (hit["message_id"], hit["seq"], hit["role"]) == (None, None, None)
    assert hit["snippet"] == "Quarterly <mark>budget</mark> review"
    assert hit["created_at"] == conversation["created_at"]

    renamed = await alice.patch(f"/v1/conversations/{conversation['id']}", json={"title": "Annual plan"})
    assert renamed.status_code == 200
    assert await search(alice, "budget") == []
    assert [hit["kind"] for hit in await search(alice, "annual")] == ["conversation"]


async def test_an_edited_message_is_found_by_its_new_text_only_and_a_deleted_one_not_at_all(
    alice: Account,
) -> None:
    conversation = await _conversation(alice)
    message = await post_message(alice, conversation["id"], "original wording here")
    path = f"/v1/conversations/{conversation['id']}/messages/{message['id']}"

    assert (await alice.patch(path, json={"content": "revised phrasing"})).status_code == 200
    assert await search(alice, "original") == []
    assert [hit["message_id"] for hit in await search(alice, "revised")] == [message["id"]]

    assert (await alice.delete(path)).status_code == 204
    assert await search(alice, "revised") == []
    assert await search(alice, "phrasing") == []


async def test_deleting_a_conversation_or_workspace_removes_its_hits(alice: Account) -> None:
    workspace = await create_workspace(alice)
    first = await create_conversation(alice, workspace["id"], title="zebra talk")
    second = await create_conversation(alice, workspace["id"])
    await post_message(alice, first["id"], "zebra one")
    await post_message(alice, second["id"], "zebra two")
    assert len(await search(alice, "zebra")) == 3

    assert (await alice.delete(f"/v1/conversations/{first['id']}")).status_code == 204
    assert contents(await search(alice, "zebra")) == ["<mark>zebra</mark> two"]

    assert (await alice.delete(f"/v1/workspaces/{workspace['id']}")).status_code == 204
    assert await search(alice, "zebra") == []


async def test_a_stranger_finds_nothing_and_a_removed_member_stops_finding_at_once(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"], title="secret")
    await post_message(alice, conversation["id"], "the launch code is swordfish")

    assert await search(bob, "swordfish") == []
    assert await search(bob, "secret") == []

    await add_member(alice, workspace["id"], bob, "viewer")
    assert len(await search(bob, "swordfish")) == 1

    removed = await alice.delete(f"/v1/workspaces/{workspace['id']}/members/{bob.id}")
    assert removed.status_code == 204
    assert await search(bob, "swordfish") == []


async def test_filters_of_a_workspace_or_conversation_the_caller_cannot_see_are_404(
    alice: Account, bob: Account
) -> None:
    conversation = await _conversation(alice)
    for name, value in (
        ("workspace_id", conversation["workspace_id"]),
        ("conversation_id", conversation["id"]),
    ):
        response = await bob.get("/v1/search", params={"q": "x", name: value})
        assert_problem(response, 404, "not_found")
    missing = await alice.get("/v1/search", params={"q": "x", "conversation_id": "8" * 32})
    assert_problem(missing, 404, "not_found")


async def test_phrases_prefixes_and_exclusions(alice: Account, database_url: str) -> None:
    conversation = await _conversation(alice)
    texts = ["red apple pie", "apple red pie", "green applesauce", "red pear"]
    for text in texts:
        await post_message(alice, conversation["id"], text)

    def found(hits: list[dict[str, Any]]) -> set[int]:
        return {hit["seq"] for hit in hits}

    assert found(await search(alice, '"red apple"')) == {1}
    assert found(await search(alice, "apple red")) == {1, 2}
    assert found(await search(alice, "appl*")) == {1, 2, 3}
    assert found(await search(alice, "red -pie")) == {4}
    assert found(await search(alice, 'red -"apple pie"')) == {2, 4}
    assert found(await search(alice, "RED")) == {1, 2, 4}  # case does not matter
    if database_url.startswith("sqlite"):  # nor, on SQLite, accents (docs/search.md)
        assert found(await search(alice, "RÉD")) == {1, 2, 4}
    assert found(await search(alice, "red-apple")) == {1}  # punctuation inside a term makes a phrase


@pytest.mark.parametrize(
    "q",
    ['"unclosed phrase', "-alone", '-"only excluded"', "a*", "***", "!!! ???", " ", "x " * 17],
)
async def test_unreadable_queries_are_422_with_a_stable_type(alice: Account, q: str) -> None:
    response = await alice.get("/v1/search", params={"q": q})
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", "q"]
    assert body["errors"][0]["type"] in {"search_syntax", "string_too_short"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sort", "oldest"),
        ("role", "robot"),
        ("limit", "0"),
        ("limit", "101"),
        ("before", "yesterday"),
        ("before", "2026-01-01T00:00:00"),  # no offset
        ("cursor", "not-a-cursor"),
        ("workspace_id", "nope"),
    ],
)
async def test_bad_parameters_are_422(alice: Account, name: str, value: str) -> None:
    response = await alice.get("/v1/search", params={"q": "word", name: value})
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["loc"][:2] == ["query", name]


async def test_filters_by_conversation_role_and_time(alice: Account) -> None:
    workspace = await create_workspace(alice)
    other_workspace = await create_workspace(alice)
    first = await create_conversation(alice, workspace["id"], title="kiwi")
    second = await create_conversation(alice, workspace["id"])
    elsewhere = await create_conversation(alice, other_workspace["id"])
    early = await post_message(alice, first["id"], "kiwi early")
    middle = await post_message(alice, second["id"], "kiwi reply", role="assistant")
    late = await post_message(alice, elsewhere["id"], "kiwi late")

    def ids(hits: list[dict[str, Any]]) -> list[str | None]:
        return [hit["message_id"] for hit in hits]

    assert ids(await search(alice, "kiwi")) == [late["id"], middle["id"], early["id"], None]
    assert ids(await search(alice, "kiwi", workspace_id=workspace["id"])) == [middle["id"], early["id"], None]
    assert ids(await search(alice, "kiwi", conversation_id=first["id"])) == [early["id"], None]
    assert ids(await search(alice, "kiwi", role="assistant")) == [middle["id"]]
    assert ids(await search(alice, "kiwi", role="user")) == [late["id"], early["id"]]
    assert ids(await search(alice, "kiwi", before=middle["created_at"], role="user")) == [early["id"]]
    assert ids(await search(alice, "kiwi", after=middle["created_at"])) == [late["id"]]
    # a conversation of another workspace with a workspace filter: nothing, not an error
    assert await search(alice, "kiwi", workspace_id=other_workspace["id"], conversation_id=first["id"]) == []


async def walk(account: Account, q: str, **params: Any) -> list[dict[str, Any]]:
    """Every hit, page by page."""
    hits: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await account.get(
            "/v1/search", params={"q": q, **params, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= int(params.get("limit", 20))
        hits.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return hits


@pytest.mark.parametrize("sort", ["newest", "relevance"])
async def test_a_cursor_walk_returns_each_hit_exactly_once(alice: Account, sort: str) -> None:
    conversation = await _conversation(alice, "walk walk")
    for i in range(23):
        await post_message(alice, conversation["id"], "walk " * (1 + i % 4) + f"number {i}")

    hits = await walk(alice, "walk", limit=5, sort=sort)

    keys = [(hit["kind"], hit["seq"]) for hit in hits]
    assert len(keys) == len(set(keys)) == 24
    if sort == "newest":
        assert [hit["seq"] for hit in hits] == [*range(23, 0, -1), None]


async def test_relevance_puts_the_better_match_first(alice: Account) -> None:
    conversation = await _conversation(alice)
    await post_message(alice, conversation["id"], "otter " + "filler words here " * 30)
    best = await post_message(alice, conversation["id"], "otter otter otter")
    await post_message(alice, conversation["id"], "filler about an otter and more filler words")

    hits = await search(alice, "otter", sort="relevance")

    assert hits[0]["message_id"] == best["id"]


@pytest.mark.parametrize(("sort", "scored"), [("newest", False), ("relevance", True)])
async def test_only_relevance_order_computes_scores(
    app: FastAPI, alice: Account, sort: str, scored: bool
) -> None:
    """A score counts every match of every term (``bm25``, ``ts_rank``): newest first needs none, and
    computing one anyway cost a common word milliseconds per search (B8)."""
    conversation = await _conversation(alice)
    await post_message(alice, conversation["id"], "otter otter")
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = app.state.resources.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert len(await search(alice, "otter", sort=sort)) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert any("bm25(" in statement or "ts_rank(" in statement for statement in sent) is scored


async def test_relevance_ranks_only_the_newest_matches_and_every_page_the_same_ones(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(search_relevance_window=3))
    transport = httpx.ASGITransport(app=app, client=(TEST_CLIENT_ADDRESS, 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        alice = await add_account(app, client, name="Alice")
        conversation = await _conversation(alice)
        best = await post_message(alice, conversation["id"], "otter otter otter otter")
        for i in range(5):
            await post_message(alice, conversation["id"], f"an otter among filler words, number {i}")

        ranked = await walk(alice, "otter", limit=1, sort="relevance")
        everything = await search(alice, "otter", sort="newest")

    assert best["id"] not in {hit["message_id"] for hit in ranked}
    assert sorted(hit["seq"] for hit in ranked) == [4, 5, 6]
    assert len(everything) == 6


async def test_a_cursor_belongs_to_its_search(alice: Account) -> None:
    conversation = await _conversation(alice)
    for _ in range(3):
        await post_message(alice, conversation["id"], "plum")
    page = (await alice.get("/v1/search", params={"q": "plum", "limit": 1})).json()

    for changed in ({"q": "plums"}, {"q": "plum", "sort": "relevance"}, {"q": "plum", "role": "user"}):
        response = await alice.get(
            "/v1/search", params={"limit": 1, "cursor": page["next_cursor"], **changed}
        )
        assert_problem(response, 422, "validation_error")


async def test_a_streaming_reply_is_found_by_its_whole_text_once_it_ends(alice: Account) -> None:
    conversation = await _conversation(alice)
    reply = await post_message(alice, conversation["id"], "Thinking", role="assistant", status="streaming")
    base = f"/v1/conversations/{conversation['id']}/messages/{reply['id']}"
    delta = await alice.post(f"{base}/deltas", json={"offset": 8, "text": " about mangoes"})
    assert delta.status_code == 200, delta.text
    assert await search(alice, "mangoes") == []  # not while it streams: its deltas are not indexed

    finished = await alice.post(f"{base}/finish", json={"content": "Thinking about mangoes and limes"})
    assert finished.status_code == 200, finished.text
    assert [hit["message_id"] for hit in await search(alice, "mangoes limes")] == [reply["id"]]


async def test_markers_in_a_message_cannot_forge_a_highlight(alice: Account) -> None:
    conversation = await _conversation(alice)
    await post_message(alice, conversation["id"], "quince \ufdd0forged\ufdd1 <mark>x</mark>")

    [hit] = await search(alice, "quince")

    assert hit["snippet"] == "<mark>quince</mark> forged &lt;mark&gt;x&lt;/mark&gt;"


async def test_a_long_message_gets_a_short_snippet_around_the_match(alice: Account) -> None:
    conversation = await _conversation(alice)
    await post_message(alice, conversation["id"], "lorem " * 300 + "needle " + "ipsum " * 300)

    [hit] = await search(alice, "needle")

    assert "<mark>needle</mark>" in hit["snippet"]
    assert "…" in hit["snippet"]
    assert len(hit["snippet"]) < 400


async def test_search_needs_a_credential(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/search", params={"q": "x"}), 401, "unauthenticated")


async def test_other_peoples_workspaces_stay_apart(client: httpx.AsyncClient, alice: Account) -> None:
    carol = await sign_up(client, name="Carol")
    mine = await _conversation(alice)
    theirs = await _conversation(carol)
    await post_message(alice, mine["id"], "shared word mine")
    await post_message(carol, theirs["id"], "shared word theirs")

    assert contents(await search(alice, "shared")) == ["<mark>shared</mark> word mine"]
    assert contents(await search(carol, "shared")) == ["<mark>shared</mark> word theirs"]
