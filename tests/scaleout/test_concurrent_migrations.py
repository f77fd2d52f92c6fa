"""Several hosts may start ``threadline serve`` at once on a new database, and each applies the migrations."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from tests.support import databases
from threadline.database.migrate import alembic_config

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
        connection = await asyncpg.connect(dsn)
        try:
            versions = [
                row["version_num"]
                for row in await connection.fetch("SELECT version_num FROM alembic_version")
            ]
        finally:
            await connection.close()
        assert versions == [ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()]
    finally:
        await databases.drop_postgres_database(dsn)
