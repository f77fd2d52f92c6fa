"""Alembic environment: runs migrations over the application's own async engine setup."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from threadline.database.engine import create_engine
from threadline.database.migrate import MIGRATION_LOCK
from threadline.database.models import Base
from threadline.database.search_schema import SEARCH_TABLE_PREFIX

target_metadata = Base.metadata


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """The search index (revision 0006) is raw DDL that differs by database, not part of the models."""
    return not (type_ == "table" and (name or "").startswith(SEARCH_TABLE_PREFIX))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Processes that start together (one per host) take turns; the later ones then find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


asyncio.run(_run_online())
