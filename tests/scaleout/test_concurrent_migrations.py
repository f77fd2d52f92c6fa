"""Several hosts may start ``threadline serve`` at once on a new database, and each applies the migrations."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from tests.support import databases

pytestmark = pytest.mark.postgres

PROCESSES = 3


async def test_processes_that_start_together_all_migrate() -> None:
    await databases.require_postgres()
    dsn = await databases.create_postgres_database()
    environment = {**os.environ, "THREADLINE_DATABASE_URL": databases.sqlalchemy_url(dsn)}
    try:
        migrations = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "threadline", "migrate", env=environment, stderr=asyncio.subprocess.PIPE
            )
            for _ in range(PROCESSES)
        ]
        async with asyncio.timeout(120):
            errors = [(await process.communicate())[1].decode() for process in migrations]
        assert [process.returncode for process in migrations] == [0] * PROCESSES, errors
    finally:
        await databases.drop_postgres_database(dsn)
