"""Engine construction: SQLite in WAL mode with foreign keys on, or PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from threadline.database.inline_sqlite import InlineConnection, connect_inline

_SQLITE_CACHE_KIB = 64 * 1024
"""Page cache per SQLite connection."""


def create_engine(url: str, *, pool_size: int = 10, timeout: float | None = None) -> AsyncEngine:
    """Statement parameters stay out of logs and errors: they include password and key hashes.

    ``timeout`` bounds every wait on PostgreSQL: connecting, a free connection in the pool, each
    statement's answer. A connection gone silent (a partition, a dead NAT entry, a frozen server) neither
    refuses nor closes, so without it a request would wait for good. ``None`` waits as long as it takes
    (migrations, whose statements may legitimately run long). SQLite is a local file: it cannot go silent,
    and waits for another process's write lock through its own ``busy_timeout``.
    """
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"
        engine = create_async_engine(url, async_creator=lambda: connect_inline(path), hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    bounded: dict[str, Any] = {}
    if timeout is not None:
        bounded["pool_timeout"] = timeout
        bounded["connect_args"] = {"timeout": timeout, "command_timeout": timeout}
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, hide_parameters=True, **bounded
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # SQLite's default page cache is 2 MiB, less than the indexes a busy database writes into; the cache
        # grows to this only as pages are read.
        cursor.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
        # can fail with SQLITE_BUSY when another process committed in between. Straight to the driver:
        # every transaction begins here, and a statement through the engine costs ten times as much.
        inline: InlineConnection = connection.connection.driver_connection
        try:
            inline.begin_immediate()
        except sqlite3.OperationalError as error:
            # Raised past SQLAlchemy (this is its event hook), so wrapped as it wraps a statement's: the
            # write lock held elsewhere past busy_timeout is the database being unavailable, not a bug.
            raise OperationalError("BEGIN IMMEDIATE", None, error) from error


class Database:
    """The engine, its session factory and, on SQLite, the lock that lets one transaction run at a time.

    SQLite has a single writer; queueing transactions on an asyncio lock is fairer and much faster than
    letting connections spin on the file lock.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sqlite_lock = asyncio.Lock() if self.is_sqlite else None
        self.schema_ready = True
        """False while a ``SchemaMigrator`` has yet to bring the schema to head: units of work are refused
        (``Unavailable``) rather than run against missing tables."""

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One session for one transaction; on SQLite, only one at a time in this process."""
        if self._sqlite_lock is None:
            async with self.sessions() as session:
                yield session
            return
        async with self._sqlite_lock, self.sessions() as session:
            yield session

    async def ping(self) -> None:
        """One round trip, as a transaction like any other: on SQLite it waits its turn on the lock. A
        connection of its own would wait for the file's write lock instead, stalling the event loop."""
        async with self.session() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
