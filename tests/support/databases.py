"""Real databases for tests: a migrated SQLite file per test, and a PostgreSQL database per session.

PostgreSQL tests run whenever a server answers; in CI (``CI=true``) an unreachable server is a failure,
never a silent skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from threadline.database.migrate import upgrade_async

POSTGRES_ADMIN_DSN = os.environ.get(
    "THREADLINE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
POSTGRES_HOST_URL = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _postgres_reachable() -> str | None:
    try:
        connection = await asyncio.wait_for(asyncpg.connect(POSTGRES_ADMIN_DSN), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"PostgreSQL at {POSTGRES_ADMIN_DSN} is unreachable: {error!r}"
    await connection.close()
    return None


async def require_postgres() -> None:
    """Skip (or, in CI, fail) when there is no PostgreSQL server to test against."""
    problem = await _postgres_reachable()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{problem} (CI must run the PostgreSQL tests)")
    pytest.skip(problem)


async def create_postgres_database(prefix: str = "threadline_test") -> str:
    """A new empty database; returns its asyncpg DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{POSTGRES_HOST_URL}/{name}"


@contextlib.asynccontextmanager
async def migrated_postgres_database() -> AsyncIterator[str]:
    """A new database with every migration applied, dropped when the block ends; yields its asyncpg DSN."""
    await require_postgres()
    dsn = await create_postgres_database()
    try:
        await upgrade_async(sqlalchemy_url(dsn))
        yield dsn
    finally:
        await drop_postgres_database(dsn)


async def drop_postgres_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'
"""
_REFERENCES = """
    SELECT child.relname AS child, parent.relname AS parent
    FROM pg_constraint fk
    JOIN pg_class child ON child.oid = fk.conrelid
    JOIN pg_class parent ON parent.oid = fk.confrelid
    JOIN pg_namespace n ON n.oid = child.relnamespace
    WHERE fk.contype = 'f' AND n.nspname = 'public' AND child.oid <> parent.oid
"""
_SEQUENCES = "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"


def children_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """``tables`` ordered so that a table comes before every table it references."""
    ordered: list[str] = []
    remaining = set(tables)
    while remaining:
        # A table no remaining table references can go now.
        referenced = {parent for child, parent in references if child in remaining}
        ready = sorted(remaining - referenced) or sorted(remaining)  # a cycle: any order, cascades settle it
        ordered.extend(ready)
        remaining.difference_update(ready)
    return ordered


_emptying_scripts: dict[str, str] = {}


async def _emptying_script(connection: asyncpg.Connection) -> str:
    tables = [row["relname"] for row in await connection.fetch(_TABLES)]
    references = [(row["child"], row["parent"]) for row in await connection.fetch(_REFERENCES)]
    sequences = [row["sequencename"] for row in await connection.fetch(_SEQUENCES)]
    statements = [f'DELETE FROM "{table}"' for table in children_first(tables, references)]
    statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
    return "BEGIN; " + "; ".join(statements) + "; COMMIT"


async def empty_postgres(dsn: str) -> None:
    """Empty every application table and restart its sequences, so each test starts clean on the session's
    database. ``DELETE`` rather than ``TRUNCATE``: on tables this small it takes a millisecond, where
    ``TRUNCATE`` (new files for every table and index) takes a third of a second, for every test."""
    connection = await asyncpg.connect(dsn)
    try:
        if dsn not in _emptying_scripts:
            _emptying_scripts[dsn] = await _emptying_script(connection)
        await connection.execute(_emptying_scripts[dsn])
    finally:
        await connection.close()


_LOCK_WAITERS = """
    SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


async def until_waiting_on_locks(dsn: str, count: int) -> None:
    """Return once ``count`` connections of this PostgreSQL database are blocked on a lock."""
    connection = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(60):
            while True:
                if await connection.fetchval(_LOCK_WAITERS) >= count:
                    return
                await asyncio.sleep(0.05)
    finally:
        await connection.close()
