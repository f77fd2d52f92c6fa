"""Several hosts may run ``threadline serve`` at once on a new database: each applies the migrations."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import databases
from threadline.database.migrate import upgrade_async

pytestmark = pytest.mark.postgres


async def test_processes_that_start_together_migrate_one_after_another() -> None:
    await databases.require_postgres()
    dsn = await databases.create_postgres_database()
    try:
        url = databases.sqlalchemy_url(dsn)
        await asyncio.gather(*(upgrade_async(url) for _ in range(3)))
    finally:
        await databases.drop_postgres_database(dsn)
