"""B8 search: latency of ``GET /v1/search`` over a million messages, and what the index costs appends.

Per deployment (SQLite with one process; PostgreSQL with one process): a user with ``b8_conversations``
conversations over 10 workspaces, made over HTTP; then ``b8_messages`` messages of ~12 words written
straight into the database with bulk SQL (the search triggers off meanwhile, then the index built for them
by revision 0007's own statements, and the triggers back: the real schema and index, seeded in a minute
rather than in hours of posts). The vocabulary: 20,000 filler words, a common word in a fifth of the
messages, a rare word in ``RARE_COUNT`` of them, and the phrase ``quarterly budget review`` in one in 500
(its words, apart, in one in 50 more). Then ``b8_requests`` searches per query over 64 connections; on
SQLite, BASE_LEAN (``baseline_lean.py``) on a copy of the same database then answers the same three
searches (checked to equal Threadline's answers) and is measured the same way, to show what the layers
cost (reported, no target). Last, B1's append loop (``b8_appends`` posts into one conversation) with the
triggers present and dropped, twice each, taking the better of each pair.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import sqlite3
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import asyncpg

from bench import baseline_lean
from bench.api import append_requests, signed_up
from bench.config import BenchConfig
from bench.loadgen import LoadResult, Request, run_load
from bench.payloads import bearer_headers
from bench.postgres import throwaway_database
from bench.procs import ServerProcess
from bench.report import BenchResult, Target, at_most
from bench.server import SECRET_KEY, database_file, running_threadline
from bench.stats import ratio
from threadline.database import search_schema

NAME = "b8"
TITLE = "B8 search: GET /v1/search over 1,000,000 messages; indexing cost on appends"
RARE, COMMON, PHRASE = "zanzibarite", "hello", '"quarterly budget review"'
RARE_COUNT = 25
WORKSPACES = 10
TARGETS = {RARE: 50.0, COMMON: 200.0, PHRASE: 200.0}
MAX_APPEND_SLOWDOWN = 0.15
SEED_BATCH = 20_000
LOCK_WAIT_SECONDS = 300.0
WARM_UP = 200
LEAN_EQUAL = "BASE_LEAN answers equal Threadline's"


def _contents(count: int, seed: int = 8) -> Iterator[str]:
    generator = random.Random(seed)
    vocabulary = [f"w{generator.getrandbits(40):x}" for _ in range(20_000)]
    rare = set(generator.sample(range(count), RARE_COUNT))
    for index in range(count):
        words = generator.choices(vocabulary, k=12)
        if generator.random() < 0.2:
            words[generator.randrange(12)] = COMMON
        draw = generator.random()
        if draw < 1 / 500:
            words[3:6] = ["quarterly", "budget", "review"]
        elif draw < 1 / 50:
            words[1], words[6], words[10] = "review", "quarterly", "budget"
        if index in rare:
            words[generator.randrange(12)] = RARE
        yield " ".join(words)


def _rows(conversations: list[str], author: str, count: int) -> Iterator[tuple[object, ...]]:
    """Messages dealt round-robin over the conversations, timestamps rising."""
    start = datetime.now(UTC) - timedelta(days=30)
    per = len(conversations)
    for index, content in enumerate(_contents(count)):
        at = start + timedelta(milliseconds=index)
        role = "user" if index % 2 else "assistant"
        yield (uuid.uuid4(), conversations[index % per], index // per + 1, role, content, author, at)


def _seed_sqlite(path: str, conversations: list[str], author: str, count: int) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")
        for name in search_schema.SQLITE_TRIGGER_NAMES:
            connection.execute(f"DROP TRIGGER {name}")
        connection.execute("DELETE FROM search_index")
        connection.execute("DELETE FROM search_documents")
        statement = (
            "INSERT INTO messages (id, conversation_id, seq, role, content, metadata, author_id, status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, '{}', ?, 'complete', ?, ?)"
        )
        conversation_hex = {c: uuid.UUID(c).hex for c in conversations}
        author_hex = uuid.UUID(author).hex
        batch = []
        for id_, conversation, seq, role, content, _, at in _rows(conversations, author, count):
            stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")
            batch.append(
                (id_.hex, conversation_hex[conversation], seq, role, content, author_hex, stamp, stamp)
            )
            if len(batch) == SEED_BATCH:
                connection.executemany(statement, batch)
                batch.clear()
        connection.executemany(statement, batch)
        per = count // len(conversations)
        connection.execute("UPDATE conversations SET last_seq = ?, message_count = ?", (per, per))
        for backfill in search_schema.SQLITE_BACKFILL:
            connection.execute(backfill)
        for trigger in search_schema.SQLITE_TRIGGERS:
            connection.execute(trigger)
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def _seed_postgres(url: str, conversations: list[str], author: str, count: int) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with connection.transaction():
            await _postgres_triggers(connection, present=False)
            await connection.execute("DROP INDEX ix_search_documents_words")
            await connection.execute("TRUNCATE search_documents")
            records = (
                (id_, uuid.UUID(c), seq, role, content, "{}", uuid.UUID(a), "complete", at, at)
                for id_, c, seq, role, content, a, at in _rows(conversations, author, count)
            )
            await connection.copy_records_to_table(
                "messages",
                records=records,
                columns=[
                    "id",
                    "conversation_id",
                    "seq",
                    "role",
                    "content",
                    "metadata",
                    "author_id",
                    "status",
                    "created_at",
                    "updated_at",
                ],
            )
            per = count // len(conversations)
            await connection.execute("UPDATE conversations SET last_seq = $1, message_count = $1", per)
            for backfill in search_schema.POSTGRES_BACKFILL:
                await connection.execute(backfill)
            await connection.execute(search_schema.POSTGRES_WORDS_INDEX)
            await _postgres_triggers(connection, present=True)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def _postgres_triggers(connection: asyncpg.Connection, *, present: bool) -> None:
    for name, table in search_schema.POSTGRES_TRIGGER_NAMES:
        await connection.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    if present:
        for trigger in search_schema.POSTGRES_TRIGGERS:
            await connection.execute(trigger)


async def _set_triggers(deployment: str, target: str, *, present: bool) -> None:
    """Turn the search triggers on or off (the index stays; appends then skip it)."""
    if deployment == "postgres":
        connection = await asyncpg.connect(target.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await _postgres_triggers(connection, present=present)
        finally:
            await connection.close()
        return
    # The server may be mid-write (an append's index merge): wait for its lock rather than fail.
    sqlite = sqlite3.connect(target, isolation_level=None, timeout=LOCK_WAIT_SECONDS)
    try:
        for name in search_schema.SQLITE_TRIGGER_NAMES:
            sqlite.execute(f"DROP TRIGGER IF EXISTS {name}")
        for trigger in search_schema.SQLITE_TRIGGERS if present else ():
            sqlite.execute(trigger)
    finally:
        sqlite.close()


def _search_path(q: str, **params: str) -> str:
    return "/v1/search?" + urlencode({"q": q, **params})


def _searches(q: str, count: int, token: str, **params: str) -> Iterator[Request]:
    path = _search_path(q, **params)
    headers = bearer_headers(token)
    return (Request("GET", path, headers) for _ in range(count))


async def _measured_queries(server: ServerProcess, token: str, config: BenchConfig) -> dict[str, LoadResult]:
    """Each query's searches, after a warm-up of all of them (page cache, statement caches)."""

    async def searches(q: str, count: int) -> LoadResult:
        return await run_load(
            server.host,
            server.port,
            _searches(q, count, token),
            connections=config.connections,
            time_limit=config.time_limit,
        )

    for q in TARGETS:
        await searches(q, WARM_UP)
    return {q: await searches(q, config.b8_requests) for q in TARGETS}


async def _lean(
    config: BenchConfig,
    result: BenchResult,
    server: ServerProcess,
    secret: str,
    token: str,
    loads: dict[str, LoadResult],
) -> None:
    """BASE_LEAN on a copy of the database (trusting Threadline's ``secret``): the same answers first,
    then the same searches, measured."""
    async with baseline_lean.running(database_file(server), secret) as lean:
        paths = [_search_path(q) for q in TARGETS]
        result.targets.append(
            await baseline_lean.same_answers(server, lean, paths, bearer_headers(token), LEAN_EQUAL)
        )
        lean_loads = await _measured_queries(lean, token, config)
    for q, lean_load in lean_loads.items():
        result.add_load(f"BASE_LEAN {q}", lean_load, "req/s")
        ours, theirs = loads[q], lean_load
        result.add(f"sqlite {q}: throughput ratio to BASE_LEAN", ratio(ours.throughput, theirs.throughput))
        p99 = ratio(ours.distribution().p99, theirs.distribution().p99)
        result.add(f"sqlite {q}: p99 ratio to BASE_LEAN", p99)


async def _deployment(config: BenchConfig, result: BenchResult, deployment: str, env: dict[str, str]) -> None:
    async with running_threadline(config, env=env, workers=1) as server, signed_up(server) as api:
        workspaces = [await api.create_workspace(f"b8 {i}") for i in range(WORKSPACES)]
        per_workspace = config.b8_conversations // WORKSPACES
        conversations = [
            await api.create_conversation(workspace, f"b8 conversation {w}.{i}")
            for w, workspace in enumerate(workspaces)
            for i in range(per_workspace)
        ]
        me = (await api.call("GET", "/v1/users/me"))["id"]
        target = env["THREADLINE_DATABASE_URL"] if deployment == "postgres" else str(database_file(server))
        seeding = asyncio.get_running_loop().time()
        if deployment == "postgres":
            await _seed_postgres(target, conversations, me, config.b8_messages)
        else:
            await asyncio.to_thread(_seed_sqlite, target, conversations, me, config.b8_messages)
        result.add(
            f"{deployment}: seeding {config.b8_messages:,} messages",
            asyncio.get_running_loop().time() - seeding,
            "s",
        )

        measured = await _measured_queries(server, api.token, config)
        for q, load in measured.items():
            label = f"{deployment} {q}"
            result.add_load(label, load, "req/s")
            result.targets.append(at_most(f"{label}: p99 ms", load.distribution().p99 * 1e3, TARGETS[q]))
        if deployment == "sqlite":
            await _lean(config, result, server, env[SECRET_KEY], api.token, measured)
        relevance = await run_load(
            server.host,
            server.port,
            _searches(COMMON, config.b8_requests // 2, api.token, sort="relevance"),
            connections=config.connections,
            time_limit=config.time_limit,
        )
        result.add_load(f"{deployment} {COMMON} sort=relevance (no target)", relevance, "req/s")

        # The index's cost on appends: B1's loop into a fresh conversation, triggers present and dropped.
        appends: dict[bool, list[LoadResult]] = {True: [], False: []}
        for present in (True, False, True, False):
            await _set_triggers(deployment, target, present=present)
            conversation = await api.create_conversation(workspaces[0], f"b8 appends {present}")
            appends[present].append(
                await run_load(
                    server.host,
                    server.port,
                    append_requests([conversation], config.b8_appends, api.token),
                    connections=config.connections,
                    time_limit=config.time_limit,
                )
            )
        await _set_triggers(deployment, target, present=True)
        best = {present: max(loads, key=lambda load: load.throughput) for present, loads in appends.items()}
        result.add_load(f"{deployment} appends with index", best[True], "appends/s")
        result.add_load(f"{deployment} appends without index", best[False], "appends/s")
        slowdown = 1 - ratio(best[True].throughput, best[False].throughput)
        result.targets.append(
            at_most(f"{deployment} appends: slowdown with index", slowdown, MAX_APPEND_SLOWDOWN)
        )


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    for deployment in config.b8_deployment_names:
        try:
            if deployment == "postgres":
                async with throwaway_database(config.postgres_dsn) as url:
                    env = {"THREADLINE_DATABASE_URL": url, "THREADLINE_EVENT_BUS": "memory"}
                    await _deployment(config, result, deployment, env)
            else:
                await _deployment(config, result, deployment, {SECRET_KEY: secrets.token_urlsafe(32)})
        except Exception as error:  # keep what was measured; the other deployment still runs
            traceback.print_exc()
            result.targets.append(
                Target(f"{deployment}: ran to the end", False, f"{type(error).__name__}: {error}")
            )
    result.notes.append(
        f"{config.b8_messages:,} messages in {config.b8_conversations:,} conversations over {WORKSPACES} "
        f"workspaces, all the caller's; {config.b8_requests:,} searches per query (sort=newest, limit=20) "
        f"over {config.connections} connections; appends: {config.b8_appends:,} per pass, better of two "
        "passes each; SQLite: BASE_LEAN answers the same searches on a copy of the same database"
    )
    return result
