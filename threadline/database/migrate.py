"""Applying the schema migrations from code, for ``threadline serve``, ``threadline migrate`` and tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from threadline.database.engine import create_engine
from threadline.database.search_schema import POSTGRES_REBUILD, postgres_language_function

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


DEFAULT_SEARCH_LANGUAGE = "simple"


def alembic_config(database_url: str, *, search_language: str = DEFAULT_SEARCH_LANGUAGE) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("threadline.search_language", search_language)
    return config


def upgrade(
    database_url: str, revision: str = "head", *, search_language: str = DEFAULT_SEARCH_LANGUAGE
) -> None:
    """Apply the migrations up to ``revision``; at ``head`` on PostgreSQL, also make the search index use
    ``search_language`` (rebuilding every document if it used another one)."""
    command.upgrade(alembic_config(database_url, search_language=search_language), revision)
    if revision == "head" and not database_url.startswith("sqlite"):
        asyncio.run(use_search_language(database_url, search_language))


async def use_search_language(database_url: str, language: str) -> bool:
    """Make PostgreSQL's search index use the text-search configuration ``language``; ``True`` if it had to
    change (every document is rebuilt, in one transaction: minutes for millions of messages)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            current = await connection.scalar(text("SELECT threadline_search_config()::text"))
            if current == language:
                return False
            await connection.execute(text(postgres_language_function(language)))
            for statement in POSTGRES_REBUILD:
                await connection.execute(text(statement))
            return True
    finally:
        await engine.dispose()


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(
    database_url: str, revision: str = "head", *, search_language: str = DEFAULT_SEARCH_LANGUAGE
) -> None:
    """Alembic's env runs its own event loop, so call it from a worker thread inside async code."""
    await asyncio.to_thread(upgrade, database_url, revision, search_language=search_language)
