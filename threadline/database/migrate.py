"""Applying the schema migrations from code, for ``threadline serve``, ``threadline migrate`` and tests."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from threadline.database.engine import Database, create_engine
from threadline.database.search_schema import POSTGRES_REBUILD, postgres_language_function
from threadline.errors import Unavailable
from threadline.tasks import Outage, cancel_and_wait

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


DEFAULT_SEARCH_LANGUAGE = "simple"

MIGRATION_LOCK = 0x7468726561646D67
"""The PostgreSQL advisory lock under which processes that migrate at once (the workers of one ``serve``,
several hosts) take turns; the later ones then find nothing to do. Any constant works, if all use it."""


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
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
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


REACHABLE_WITHIN_SECONDS = 5.0
"""How long the migrator's check that the database answers may take: a server that is down is told soon."""

FAILED_MIGRATION_RETRY_SECONDS = 30.0
"""A migration that fails while the database answers is a bug, not an outage: it is retried only slowly."""


class SchemaMigrator:
    """``threadline serve``'s migrations: they wait for the database if it is away, so the process can
    start (and answer ``/ready`` 503) without it.

    Until the schema is at head the database's units of work are refused as unavailable, and ``ready``
    says no. Several processes may migrate at once: the migrations take turns under an advisory lock.
    """

    def __init__(self, database: Database, url: str, *, search_language: str, retry_seconds: float) -> None:
        self._database = database
        self._url = url
        self._search_language = search_language
        self._retry_seconds = retry_seconds
        self._tried = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._database.schema_ready = False
        self._task = asyncio.create_task(self._run(), name="schema-migrator")

    async def first_attempt(self) -> None:
        """Wait until the first attempt has migrated or failed (quickly, if the database is down)."""
        await self._tried.wait()

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def _run(self) -> None:
        outage = Outage("migrating the database", self._retry_seconds, log=logger)
        while True:
            try:
                await self._migrate()
            except Exception as error:
                outage.failed(error)
                self._tried.set()
                broken = not isinstance(error, Unavailable)
                await asyncio.sleep(FAILED_MIGRATION_RETRY_SECONDS if broken else self._retry_seconds)
                continue
            outage.over()
            self._database.schema_ready = True
            self._tried.set()
            return

    async def _migrate(self) -> None:
        await self._require_reachable()
        try:
            await upgrade_async(self._url, search_language=self._search_language)
        except Exception:
            await self._require_reachable()  # the database went away meanwhile: an outage, not a bug
            raise

    async def _require_reachable(self) -> None:
        try:
            async with asyncio.timeout(REACHABLE_WITHIN_SECONDS):
                await self._database.ping()
        except Exception as error:
            raise Unavailable("The database is unreachable") from error
