"""The database handle every request shares: on SQLite one transaction at a time, none stalling the loop."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.support.accounts import unique_email
from threadline.database.engine import Database, PoolStatus, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unavailable


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "threadline.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def test_a_ping_during_a_write_waits_its_turn_without_stalling_the_process(sqlite_url: str) -> None:
    database = Database(create_engine(sqlite_url))
    try:
        async with UnitOfWork(database) as uow:
            now = datetime.now(UTC)
            await uow.users.add(email=unique_email("writer"), name="", password_hash="-", now=now)
            ping = asyncio.ensure_future(database.ping())
            # Were the ping waiting for SQLite's write lock, the event loop would stop right here.
            await asyncio.sleep(0.2)
            assert not ping.done()
            await uow.commit()

        await asyncio.wait_for(ping, timeout=5)
    finally:
        await database.dispose()


async def test_a_write_lock_held_elsewhere_past_the_busy_timeout_is_unavailable(sqlite_url: str) -> None:
    """Another process (or a shell) holding SQLite's lock is an outage like any other: 503, never 500."""
    database = Database(create_engine(sqlite_url))

    @event.listens_for(database.engine.sync_engine, "connect")
    def _impatient(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=50")  # after the engine's own 30 s

    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(Unavailable):
            async with UnitOfWork(database) as uow:
                await uow.events.bounds()
        holder.rollback()
        async with UnitOfWork(database) as uow:
            await uow.events.bounds()
    finally:
        holder.close()
        await database.dispose()


async def test_the_pool_is_watched_as_connections_are_lent_and_returned(database_url: str) -> None:
    database = Database(create_engine(database_url, pool_size=1))
    seen: list[PoolStatus] = []
    database.watch_pool(seen.append)
    try:
        assert seen[-1].checked_out == 0
        # Lent, but no transaction begun: on SQLite two transactions would wait for each other's lock.
        async with database.engine.connect():
            lent_one = seen[-1]
            async with database.engine.connect():
                lent_two = seen[-1]
            returned_one = seen[-1]
        returned_all = seen[-1]
    finally:
        await database.dispose()

    assert lent_one.checked_out == 1
    assert lent_two.checked_out == 2
    assert returned_one.checked_out == 1
    assert returned_all.checked_out == 0
    if not database.is_sqlite:  # SQLite keeps its own pool size of 5, so never overflows here
        assert (seen[0].size, lent_one.overflow, lent_two.overflow, returned_all.overflow) == (1, 0, 1, 0)
