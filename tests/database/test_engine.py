"""The database handle every request shares: on SQLite one transaction at a time, none stalling the loop."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.accounts import unique_email
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork


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
