"""BASE_LEAN: Threadline's hot paths done with no layers, on the same stack and a copy of its database.

The question B1, B2 and B8 answer against it is what Threadline's layers (services, repositories, the
unit of work, the domain and API models) cost, not how fast FastAPI is. So this is the same work written
as plainly and as fast as it honestly goes: FastAPI on the same uvicorn, the same HS256 token check (each
token verified once and remembered until it expires, as Threadline does), one raw ``sqlite3`` connection
with Threadline's pragmas, one query per step, answers encoded by orjson.

- ``GET /v1/conversations/{id}/messages`` (``limit``, ``after``, ``before``): the permission check and the
  page in one query (a second only when the page is empty, to tell "no such conversation" from "no
  messages"); the answer is Threadline's, field for field.
- ``POST /v1/conversations/{id}/messages``: one transaction per post: the caller's role, the next
  ``seq`` (and the conversation's count and activity), the message, the workspace's activity and the
  event row.
- ``GET /v1/search`` (``q``, ``limit``, ``sort=newest`` only; SQLite): the page's document numbers in one
  statement (FTS5 ``MATCH``, the caller's memberships inside it, newest first), the page's details in a
  second, FTS5's ``snippet()`` for the page's number range in a third, as Threadline does, and the same
  HTML escaping and ``<mark>`` markers; the answer is Threadline's, ``next_cursor`` included. Two pure
  functions are Threadline's own, imported so that the text sent to FTS5 and the cursor are identical:
  the query parser with its FTS5 rendering (``SearchQuery.parse``, ``fts5_expression``) and the cursor's
  encoding (``SearchCursor``). Parsing is not a layer. The three statements run back to back on the one
  connection with no ``await`` between them, and nothing else writes the copy, so they see one snapshot
  without a transaction. Like Threadline's, the page statement computes no score
  (``bm25()``) for ``newest``.

It runs as a subprocess: ``BENCH_LEAN_DATABASE`` names the SQLite file (a copy of the Threadline
benchmark's) and ``BENCH_LEAN_SECRET`` the key Threadline signed its tokens with.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import orjson
from fastapi import FastAPI, Header, Request, Response

from bench import loadgen, procs
from bench.api import get_once
from bench.config import BenchConfig
from bench.report import Target
from threadline.database.repositories.search import SNIPPET_WORDS, fts5_expression
from threadline.database.search_schema import MARK_END, MARK_START
from threadline.errors import ValidationFailed
from threadline.models.domain.search import (
    MAX_QUERY_LENGTH,
    SearchCursor,
    SearchFilters,
    SearchPosition,
    SearchQuery,
    SearchSort,
)

DATABASE = "BENCH_LEAN_DATABASE"
SECRET = "BENCH_LEAN_SECRET"
ROLES = {"user", "assistant", "system", "tool"}
WRITERS = {"owner", "editor"}
MAX_CONTENT = 100_000

_db: sqlite3.Connection
_secret = ""
_write_lock = asyncio.Lock()
_verified: dict[str, tuple[str, float]] = {}

_COLUMNS = "m.id, m.seq, m.role, m.content, m.metadata, m.author_id, m.status, m.created_at, m.updated_at"
_MEMBER_OF = (
    "FROM memberships ms JOIN conversations c ON c.workspace_id = ms.workspace_id "
    "JOIN messages m ON m.conversation_id = c.id WHERE ms.user_id = ? AND c.id = ?"
)
_LATEST = f"SELECT {_COLUMNS} {_MEMBER_OF} ORDER BY m.seq DESC LIMIT ?"
_BEFORE = f"SELECT {_COLUMNS} {_MEMBER_OF} AND m.seq < ? ORDER BY m.seq DESC LIMIT ?"
_AFTER = f"SELECT {_COLUMNS} {_MEMBER_OF} AND m.seq > ? ORDER BY m.seq ASC LIMIT ?"
_SEARCH_PAGE = (
    "SELECT search_index.rowid FROM search_index JOIN search_documents ON search_documents.id = "
    "search_index.rowid WHERE search_index MATCH ? AND search_documents.workspace_id IN "
    "(SELECT workspace_id FROM memberships WHERE user_id = ?) ORDER BY search_index.rowid DESC LIMIT ?"
)
_HIT_DETAILS = (
    "SELECT d.id, d.workspace_id, d.conversation_id, c.title, d.message_id, m.seq, m.role, "
    "coalesce(m.created_at, c.created_at) FROM search_documents d "
    "JOIN conversations c ON c.id = d.conversation_id LEFT JOIN messages m ON m.id = d.message_id "
    "WHERE d.id IN ({})"
)
_SNIPPETS = (
    f"SELECT rowid, snippet(search_index, 0, ?, ?, '…', {SNIPPET_WORDS}) FROM search_index "
    "WHERE search_index MATCH ? AND rowid BETWEEN ? AND ?"
)
_NEWEST_KEY_FILTERS = SearchFilters()
_ROLE = (
    "SELECT ms.role, c.workspace_id FROM conversations c JOIN memberships ms "
    "ON ms.workspace_id = c.workspace_id AND ms.user_id = ? WHERE c.id = ?"
)


@contextlib.asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    global _db, _secret
    _secret = os.environ[SECRET]
    _db = sqlite3.connect(os.environ[DATABASE], isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
        _db.execute(f"PRAGMA {pragma}")
    yield
    _db.close()


app = FastAPI(lifespan=_lifespan)


def _user(authorization: str | None) -> str | None:
    """The caller's id as stored (32 hex digits), from a valid access token; ``None`` otherwise."""
    token = (authorization or "").removeprefix("Bearer ")
    known = _verified.get(token)
    if known is not None and known[1] > time.time():
        return known[0]
    try:
        claims = jwt.decode(token, _secret, algorithms=["HS256"], options={"require": ["sub", "exp", "typ"]})
        user = uuid.UUID(claims["sub"]).hex
    except (jwt.InvalidTokenError, ValueError):
        return None
    _verified[token] = (user, float(claims["exp"]))
    return user


def _hyphenated(hex_id: str | None) -> str | None:
    return (
        None
        if hex_id is None
        else f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
    )


def _timestamp(stored: str) -> str:
    """SQLite's ``YYYY-MM-DD HH:MM:SS.ffffff`` as RFC 3339 in UTC, as pydantic writes it."""
    return stored.removesuffix(".000000").replace(" ", "T") + "Z"


def _message(row: tuple[Any, ...], conversation_id: str) -> dict[str, Any]:
    id_, seq, role, content, metadata, author_id, status, created_at, updated_at = row
    return {
        "id": _hyphenated(id_),
        "conversation_id": conversation_id,
        "seq": seq,
        "role": role,
        "content": content,
        "metadata": orjson.Fragment(metadata),
        "author_id": _hyphenated(author_id),
        "status": status,
        "created_at": _timestamp(created_at),
        "updated_at": _timestamp(updated_at),
    }


def _problem(status: int, code: str) -> Response:
    body = {"type": "about:blank", "status": status, "code": code, "detail": code}
    return Response(orjson.dumps(body), status_code=status, media_type="application/problem+json")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@app.get("/v1/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: str,
    limit: int = 50,
    after: int | None = None,
    before: int | None = None,
    authorization: str | None = Header(default=None),
) -> Response:
    user = _user(authorization)
    if user is None:
        return _problem(401, "unauthenticated")
    try:
        conversation = uuid.UUID(conversation_id)
    except ValueError:
        return _problem(422, "validation_error")
    if not 1 <= limit <= 200:
        return _problem(422, "validation_error")
    key = (user, conversation.hex)
    if after is not None:
        rows = _db.execute(_AFTER, (*key, after, limit + 1)).fetchall()
    else:
        query, bound = (_BEFORE, (before,)) if before is not None else (_LATEST, ())
        rows = _db.execute(query, (*key, *bound, limit + 1)).fetchall()
        rows.reverse()
    if not rows and _db.execute(_ROLE, key).fetchone() is None:
        return _problem(404, "not_found")
    has_more = len(rows) > limit
    rows = rows[1:] if has_more and after is None else rows[:limit]
    items = [_message(row, str(conversation)) for row in rows]
    return _json({"items": items, "has_more": has_more})


@app.post("/v1/conversations/{conversation_id}/messages")
async def post_message(
    conversation_id: str, request: Request, authorization: str | None = Header(default=None)
) -> Response:
    user = _user(authorization)
    if user is None:
        return _problem(401, "unauthenticated")
    try:
        conversation = uuid.UUID(conversation_id)
        body = orjson.loads(await request.body())
        content, role, metadata = body["content"], body.get("role", "user"), body.get("metadata", {})
    except (ValueError, KeyError, TypeError):
        return _problem(422, "validation_error")
    valid = isinstance(content, str) and 0 < len(content) <= MAX_CONTENT and "\x00" not in content
    if (
        not valid
        or role not in ROLES
        or not isinstance(metadata, dict)
        or set(body) - {"content", "role", "metadata"}
    ):
        return _problem(422, "validation_error")
    async with _write_lock:
        return _store(user, conversation, content, role, metadata)


def _store(user: str, conversation: uuid.UUID, content: str, role: str, metadata: dict[str, Any]) -> Response:
    """One transaction: the caller's role, the next ``seq``, the message, the workspace touch, the event."""
    now = datetime.now(UTC)
    stored_now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    _db.execute("BEGIN IMMEDIATE")
    try:
        found = _db.execute(_ROLE, (user, conversation.hex)).fetchone()
        if found is None or found[0] not in WRITERS:
            _db.execute("ROLLBACK")
            return _problem(404, "not_found") if found is None else _problem(403, "forbidden")
        workspace = found[1]
        (seq,) = _db.execute(
            "UPDATE conversations SET last_seq = last_seq + 1, message_count = message_count + 1, "
            "last_active_at = max(last_active_at, ?) WHERE id = ? RETURNING last_seq",
            (stored_now, conversation.hex),
        ).fetchone()
        message_id = uuid.uuid4()
        meta = orjson.dumps(metadata).decode()
        _db.execute(
            "INSERT INTO messages (id, conversation_id, seq, role, content, metadata, author_id, status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'complete', ?, ?)",
            (message_id.hex, conversation.hex, seq, role, content, meta, user, stored_now, stored_now),
        )
        _db.execute(
            "UPDATE workspaces SET last_active_at = max(last_active_at, ?) WHERE id = ?",
            (stored_now, workspace),
        )
        message = _message(
            (message_id.hex, seq, role, content, meta, user, "complete", stored_now, stored_now),
            str(conversation),
        )
        _db.execute(
            "INSERT INTO events (type, workspace_id, conversation_id, actor_id, payload, created_at) "
            "VALUES ('message.created', ?, ?, ?, ?, ?)",
            (workspace, conversation.hex, user, orjson.dumps(message).decode(), stored_now),
        )
        _db.execute("COMMIT")
    except BaseException:
        _db.execute("ROLLBACK")
        raise
    return _json(message, 201)


@app.get("/v1/search")
async def search(
    q: str | None = None,
    limit: int = 20,
    sort: str = "newest",
    authorization: str | None = Header(default=None),
) -> Response:
    user = _user(authorization)
    if user is None:
        return _problem(401, "unauthenticated")
    if q is None or not 1 <= len(q) <= MAX_QUERY_LENGTH or not 1 <= limit <= 100 or sort != "newest":
        return _problem(422, "validation_error")
    try:
        query = SearchQuery.parse(q)
    except ValidationFailed:
        return _problem(422, "validation_error")
    expression = fts5_expression(query)
    numbers = [number for (number,) in _db.execute(_SEARCH_PAGE, (expression, user, limit + 1))]
    more = len(numbers) > limit
    numbers = numbers[:limit]
    next_cursor = None
    if more:
        key = SearchCursor.search_key(query, _NEWEST_KEY_FILTERS, SearchSort.NEWEST)
        next_cursor = SearchCursor.encode(SearchPosition(numbers[-1]), key)
    return _json({"items": _hits(numbers, expression), "next_cursor": next_cursor})


def _hits(numbers: list[int], expression: str) -> list[dict[str, Any]]:
    """The page's hits in its order: their details, and FTS5's snippets read by the page's number range
    (an ``IN`` list would make FTS5 walk every match), the range's other matches dropped."""
    if not numbers:
        return []
    details = _db.execute(_HIT_DETAILS.format(", ".join("?" * len(numbers))), numbers)
    rows = {row[0]: row for row in details}
    found = _db.execute(_SNIPPETS, (MARK_START, MARK_END, expression, min(numbers), max(numbers)))
    snippets = dict(found.fetchall())
    return [_hit(rows[number], snippets.get(number) or "") for number in numbers if number in rows]


def _hit(row: tuple[Any, ...], marked: str) -> dict[str, Any]:
    _, workspace_id, conversation_id, title, message_id, seq, role, created_at = row
    snippet = html.escape(marked, quote=False).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return {
        "kind": "conversation" if message_id is None else "message",
        "workspace_id": _hyphenated(workspace_id),
        "conversation": {"id": _hyphenated(conversation_id), "title": title},
        "message_id": _hyphenated(message_id),
        "seq": seq,
        "role": role,
        "snippet": snippet,
        "created_at": _timestamp(created_at),
    }


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ready"}


@contextlib.asynccontextmanager
async def running(source: Path, secret: str) -> AsyncIterator[procs.ServerProcess]:
    """BASE_LEAN on a copy of the SQLite database ``source`` (live or not), trusting tokens signed by
    ``secret``, for the block."""
    with tempfile.TemporaryDirectory(prefix="bench-lean-") as tmp:
        copy = Path(tmp) / "lean.db"
        with sqlite3.connect(source) as live, sqlite3.connect(copy) as target:
            live.backup(target)
        async with procs.running_baseline(__name__, env={DATABASE: str(copy), SECRET: secret}) as server:
            yield server


async def measure(
    server: procs.ServerProcess, requests: Iterator[loadgen.Request], config: BenchConfig
) -> loadgen.LoadResult:
    """Run ``requests`` against a running BASE_LEAN with the benchmark's connections and time limit."""
    return await loadgen.run_load(
        server.host, server.port, requests, connections=config.connections, time_limit=config.time_limit
    )


async def same_answers(
    threadline: procs.ServerProcess,
    lean: procs.ServerProcess,
    paths: list[str],
    headers: dict[str, str],
    label: str = "BASE_LEAN answers as Threadline does",
) -> Target:
    """BASE_LEAN answers each of ``paths`` exactly as Threadline does (200, the same JSON values)."""
    for path in paths:
        ours, theirs = await get_once(threadline, path, headers), await get_once(lean, path, headers)
        if not ours.status == theirs.status == 200 or ours.json() != theirs.json():
            detail = f"{path}: {ours.status}: {ours.body[:120]!r} vs {theirs.status}: {theirs.body[:120]!r}"
            return Target(label, False, detail)
    answers = "the same answer" if len(paths) == 1 else f"the same {len(paths)} answers"
    return Target(label, True, f"{answers}, field for field")


if __name__ == "__main__":
    procs.serve_baseline(app)
