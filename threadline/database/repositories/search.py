"""Full-text search over messages and conversation titles: one interface, SQLite FTS5 or PostgreSQL tsvector.

The index (``search_schema.py``, revision 0007) holds one document per message and per conversation title,
numbered in the order they were written; triggers keep it in the writing transaction. A search reads it
in two steps, in one transaction: the page's document numbers (filtered by the caller's memberships in
the same statement, so access is as of this very read), then the page's hits with their snippets. Only
the second step builds snippets, for the page alone.

By ``newest`` the page walks the documents by number, newest first, which both indexes can do without
sorting every match (FTS5 reads its doclists backwards; PostgreSQL walks the primary key and tests each
document, or reads the GIN index for a rare word, as its planner judges). By ``relevance`` every match is
ranked (FTS5's ``bm25``, PostgreSQL's ``ts_rank``), then the best ones taken.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    MetaData,
    Row,
    Select,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from threadline.database.models import CONVERSATIONS_TABLE, MEMBERSHIPS_TABLE, MESSAGES_TABLE
from threadline.database.repositories.base import Repository
from threadline.database.search_schema import MARK_END, MARK_START
from threadline.models.domain.search import (
    WORD,
    SearchFilters,
    SearchHit,
    SearchPosition,
    SearchQuery,
    SearchSort,
    Term,
)

_SEARCH = MetaData()
_DOCUMENTS = Table(
    "search_documents",
    _SEARCH,
    Column("id", BigInteger, primary_key=True),
    Column("workspace_id", Uuid),
    Column("conversation_id", Uuid),
    Column("message_id", Uuid, nullable=True),
    Column("document", TSVECTOR),  # PostgreSQL only
)
_FTS = Table("search_index", _SEARCH, Column("rowid", BigInteger), Column("body", Text))
_D = _DOCUMENTS.c
_M = MESSAGES_TABLE.c
_C = CONVERSATIONS_TABLE.c

SNIPPET_WORDS = 24
"""Words around the matches in a snippet, at most."""
_ELLIPSIS = "…"


def fts5_expression(query: SearchQuery) -> str:
    """The query as an FTS5 expression: every word a quoted string (quotes doubled, though words have
    none), so nothing typed is read as FTS5 syntax."""

    def term(t: Term) -> str:
        quoted = '"' + " ".join(word.replace('"', '""') for word in t.words) + '"'
        return quoted + ("*" if t.prefix else "")

    expression = " AND ".join(term(t) for t in query.required)
    return "".join([f"({expression})", *(f" NOT {term(t)}" for t in query.excluded)])


def tsquery_expression(query: SearchQuery) -> str:
    """The query as ``to_tsquery`` text: each word a quoted lexeme, phrases joined by ``<->``."""

    def term(t: Term) -> str:
        lexemes = [
            f"'{word.replace(chr(39), chr(39) * 2).replace(chr(92), chr(92) * 2)}'" for word in t.words
        ]
        if t.prefix:
            lexemes[-1] += ":*"
        return "(" + " <-> ".join(lexemes) + ")"

    return " & ".join([*(term(t) for t in query.required), *(f"!{term(t)}" for t in query.excluded)])


def marked_snippet(text: str, query: SearchQuery) -> str:
    """The words of ``text`` around its first match, the words the query asks for marked (PostgreSQL's
    snippets; SQLite's come from FTS5 itself). A word matches as the ``simple`` configuration compares
    them: case-folded, whole, or by its start for a prefix term."""
    words: set[str] = set()
    prefixes: list[str] = []
    for term in query.required:
        words.update(term.words[:-1] if term.prefix else term.words)
        if term.prefix:
            prefixes.append(term.words[-1])
    text = text.replace(MARK_START, "").replace(MARK_END, "")
    tokens = list(WORD.finditer(text))

    def matches(token: str) -> bool:
        folded = token.casefold()
        return folded in words or any(folded.startswith(prefix) for prefix in prefixes)

    first = next((i for i, token in enumerate(tokens) if matches(token.group())), 0)
    start = max(0, min(first - SNIPPET_WORDS // 4, len(tokens) - SNIPPET_WORDS))
    shown = tokens[start : start + SNIPPET_WORDS]
    if not shown:
        return text
    begin = 0 if start == 0 else shown[0].start()
    end = len(text) if start + SNIPPET_WORDS >= len(tokens) else shown[-1].end()
    parts = [_ELLIPSIS if begin > 0 else ""]
    position = begin
    for token in shown:
        if matches(token.group()):
            parts += [text[position : token.start()], MARK_START, token.group(), MARK_END]
            position = token.end()
    parts += [text[position:end], _ELLIPSIS if end < len(text) else ""]
    return "".join(parts)


def snippet_html(marked: str) -> str:
    """A snippet as HTML: the text escaped, the matched words in ``<mark>``."""
    return html.escape(marked, quote=False).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


class SearchRepository(Repository):
    async def search(
        self,
        user_id: UUID,
        query: SearchQuery,
        filters: SearchFilters,
        *,
        sort: SearchSort,
        limit: int,
        after: SearchPosition | None,
        relevance_window: int,
    ) -> tuple[list[SearchHit], SearchPosition | None]:
        """The page of hits the user may see, and where the next page starts (``None``: this is the last).

        By relevance, only the newest ``relevance_window`` matches are ranked, the same ones on every page
        of a walk (its cursor keeps the oldest): ranking every match is what costs.
        """
        postgres = self._on_postgresql
        expression = tsquery_expression(query) if postgres else fts5_expression(query)
        matching = _POSTGRES_MATCHES if postgres else _SQLITE_MATCHES
        parameters = {"q": expression, "user_id": user_id}
        candidates = _filtered(matching.selected(sort), filters)
        floor = None
        if sort is SearchSort.RELEVANCE:
            if after is None:
                floor = await self._floor(matching, filters, parameters, relevance_window)
            else:
                floor = after.floor
            if floor is not None:
                candidates = candidates.where(matching.number >= floor)
        page = _ordered(candidates, matching, sort=sort, after=after)
        rows = (await self._session.execute(page.limit(limit + 1), parameters)).all()
        hits = await self._hits([row[0] for row in rows[:limit]], query, expression, postgres=postgres)
        if len(rows) <= limit:
            return hits, None
        last = rows[limit - 1]
        if sort is SearchSort.NEWEST:
            return hits, SearchPosition(int(last[0]))
        return hits, SearchPosition(int(last[0]), float(last[1]), floor)

    async def _floor(
        self, matching: _Matching, filters: SearchFilters, parameters: dict[str, Any], window: int
    ) -> int | None:
        """The oldest of the newest ``window`` matches, walked by number as ``newest`` does; ``None`` if
        there are fewer."""
        oldest = _filtered(matching.numbers, filters).order_by(matching.number.desc()).offset(window - 1)
        found: int | None = await self._session.scalar(oldest.limit(1), parameters)
        return found

    async def _hits(
        self, numbers: Sequence[int], query: SearchQuery, expression: str, *, postgres: bool
    ) -> list[SearchHit]:
        """The documents' hits, in the order given, with their snippets (for the page only)."""
        if not numbers:
            return []
        details = _DETAILS_WITH_TEXT if postgres else _DETAILS
        rows = {row.id: row for row in await self._session.execute(details, {"numbers": list(numbers)})}
        snippets = (
            {number: marked_snippet(row.text, query) for number, row in rows.items()}
            if postgres
            else await self._sqlite_snippets(numbers, expression)
        )
        return [
            _to_hit(row, snippets.get(number) or "")
            for number in numbers
            # A document gone between the two statements (each reads as of its start) is left out.
            if (row := rows.get(number)) is not None
        ]

    async def _sqlite_snippets(self, numbers: Sequence[int], expression: str) -> dict[int, str]:
        """FTS5's snippets of the page's documents: ``snippet()`` works only beside a ``MATCH``.

        The documents are chosen by their number's range, which FTS5 reads as a range of its doclists; an
        ``IN`` list instead makes it walk every match (tens of milliseconds for a common word), so the few
        matches in the range that are not on the page are dropped here.
        """
        found = await self._session.execute(
            _SQLITE_SNIPPETS, {"q": expression, "low": min(numbers), "high": max(numbers)}
        )
        wanted = set(numbers)
        return {int(number): text for number, text in found if number in wanted}


def _filtered(page: Any, filters: SearchFilters) -> Any:
    """The page limited by the filters; those on a message's role or time read the message (or, for a
    title, the conversation) of each candidate."""
    if filters.workspace_id is not None:
        page = page.where(_D.workspace_id == filters.workspace_id)
    if filters.conversation_id is not None:
        page = page.where(_D.conversation_id == filters.conversation_id)
    if filters.role is not None:
        page = page.where(select(_M.id).where(_M.id == _D.message_id, _M.role == filters.role.value).exists())
    if filters.before is not None or filters.after is not None:
        created = func.coalesce(
            select(_M.created_at).where(_M.id == _D.message_id).scalar_subquery(),
            select(_C.created_at).where(_C.id == _D.conversation_id).scalar_subquery(),
        )
        if filters.before is not None:
            page = page.where(created < bindparam("before", filters.before, type_=_M.created_at.type))
        if filters.after is not None:
            page = page.where(created > bindparam("after", filters.after, type_=_M.created_at.type))
    return page


@dataclass(frozen=True)
class _Matching:
    """The documents that match ``:q`` in the workspaces ``:user_id`` is a member of: their numbers, and a
    score (higher is better) for relevance."""

    numbers: Select[Any]
    scored: Select[Any]
    """(number, score): a score counts every match of every term, so only relevance order selects it
    (``bm25`` on 200,000 messages: 2.2 ms for a common word, the numbers alone 0.06 ms)."""
    number: ColumnElement[int]
    score: ColumnElement[Any]

    @classmethod
    def of(cls, chosen: Select[Any], number: ColumnElement[int], score: ColumnElement[Any]) -> _Matching:
        numbers = chosen.where(_D.workspace_id.in_(_MEMBER_WORKSPACES))
        return cls(numbers, numbers.add_columns(score.label("score")), number, score)

    def selected(self, sort: SearchSort) -> Select[Any]:
        return self.scored if sort is SearchSort.RELEVANCE else self.numbers


def _postgres_matches() -> _Matching:
    matcher = func.to_tsquery(func.threadline_search_config(), bindparam("q"))
    score: ColumnElement[Any] = func.ts_rank(_D.document, matcher)
    chosen = select(_D.id).select_from(_DOCUMENTS).where(_D.document.op("@@")(matcher))
    return _Matching.of(chosen, _D.id, score)


def _sqlite_matches() -> _Matching:
    # bm25 is lower for a better match: negated, so that higher is better on both databases.
    score = -func.bm25(literal_column("search_index"))
    chosen = (
        select(_FTS.c.rowid)
        .select_from(_FTS.join(_DOCUMENTS, _D.id == _FTS.c.rowid))
        .where(literal_column("search_index").op("MATCH")(bindparam("q")))
    )
    return _Matching.of(chosen, _FTS.c.rowid, score)


# Built once (a search adds its filters and order to the matches): SQLAlchemy's work to build a statement
# was a sixth of a search's time in the process.
_MEMBER_WORKSPACES = select(MEMBERSHIPS_TABLE.c.workspace_id).where(
    MEMBERSHIPS_TABLE.c.user_id == bindparam("user_id")
)
_POSTGRES_MATCHES = _postgres_matches()
_SQLITE_MATCHES = _sqlite_matches()
_SQLITE_SNIPPETS = select(
    _FTS.c.rowid,
    func.snippet(literal_column("search_index"), 0, MARK_START, MARK_END, _ELLIPSIS, SNIPPET_WORDS),
).where(
    literal_column("search_index").op("MATCH")(bindparam("q")),
    _FTS.c.rowid.between(bindparam("low"), bindparam("high")),
)


def _ordered(
    page: Select[Any], matching: _Matching, *, sort: SearchSort, after: SearchPosition | None
) -> Select[Any]:
    """The page in the order asked for, after the previous page's last hit."""
    number, score = matching.number, matching.score
    if sort is SearchSort.NEWEST:
        if after is not None:
            page = page.where(number < after.document)
        return page.order_by(number.desc())
    if after is not None and after.score is not None:
        page = page.where(or_(score < after.score, and_(score == after.score, number < after.document)))
    return page.order_by(score.desc(), number.desc())


def _details(*, with_text: bool) -> Select[Any]:
    """What a hit shows of each document (``:numbers``), and its text where snippets are made here
    (PostgreSQL)."""
    text = [func.coalesce(_M.content, _C.title).label("text")] if with_text else []
    return (
        select(
            _D.id,
            _D.workspace_id,
            _D.conversation_id,
            _C.title,
            _D.message_id,
            _M.seq,
            _M.role,
            func.coalesce(_M.created_at, _C.created_at).label("created_at"),
            *text,
        )
        .select_from(
            _DOCUMENTS.join(CONVERSATIONS_TABLE, _C.id == _D.conversation_id).outerjoin(
                MESSAGES_TABLE, _M.id == _D.message_id
            )
        )
        .where(_D.id.in_(bindparam("numbers", expanding=True)))
    )


_DETAILS = _details(with_text=False)
_DETAILS_WITH_TEXT = _details(with_text=True)


def _to_hit(row: Row[Any], marked: str) -> SearchHit:
    return SearchHit(
        workspace_id=row.workspace_id,
        conversation_id=row.conversation_id,
        conversation_title=row.title,
        message_id=row.message_id,
        seq=row.seq,
        role=row.role,
        snippet=snippet_html(marked),
        created_at=row.created_at,
    )
