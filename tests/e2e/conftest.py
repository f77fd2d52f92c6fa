"""End-to-end fixtures: an empty database per module, on SQLite and on PostgreSQL, for real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import databases


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def e2e_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The URL of an empty database that ``threadline serve`` migrates when it starts."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e')}/threadline.db"
        return
    await databases.require_postgres()
    dsn = await databases.create_postgres_database("threadline_e2e")
    try:
        yield databases.sqlalchemy_url(dsn)
    finally:
        await databases.drop_postgres_database(dsn)
