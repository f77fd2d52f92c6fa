"""Alembic migrations on fresh databases: up, down and up again, step by step, and in step with the models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection

from tests.support import databases
from threadline.database.engine import create_engine
from threadline.database.migrate import alembic_config, downgrade, upgrade
from threadline.database.models import EVENTS_TABLE, Base
from threadline.database.search_schema import SEARCH_TABLE_PREFIX

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database that no other test has migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    await databases.require_postgres()
    dsn = await databases.create_postgres_database("threadline_migrations")
    try:
        yield databases.sqlalchemy_url(dsn)
    finally:
        await databases.drop_postgres_database(dsn)


async def on_connection(url: str, work: Any) -> Any:
    """Run ``work(connection)`` on a synchronous view of a new connection to ``url``."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    """The tables, but the search index's (raw DDL of revision 0007, not models; see its own test)."""
    names: set[str] = await on_connection(url, lambda connection: set(inspect(connection).get_table_names()))
    return {name for name in names if not name.startswith(SEARCH_TABLE_PREFIX)}


async def search_tables(url: str) -> set[str]:
    names: set[str] = await on_connection(url, lambda connection: set(inspect(connection).get_table_names()))
    return {name for name in names if name.startswith(SEARCH_TABLE_PREFIX)}


def _not_search(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and (name or "").startswith(SEARCH_TABLE_PREFIX))


def model_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _not_search})
    differences: list[Any] = compare_metadata(context, Base.metadata)
    return differences


def revisions_oldest_first() -> list[tuple[str, str]]:
    """Each revision with the one it builds on (``base`` for the first)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [
        (revision.revision, str(revision.down_revision or "base"))
        for revision in reversed(list(script.walk_revisions()))
    ]


async def test_upgrade_downgrade_upgrade(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url)
    assert await table_names(fresh_database_url) == MODEL_TABLES | {"alembic_version"}

    await asyncio.to_thread(downgrade, fresh_database_url)
    assert await table_names(fresh_database_url) == {"alembic_version"}

    await asyncio.to_thread(upgrade, fresh_database_url)
    assert await table_names(fresh_database_url) == MODEL_TABLES | {"alembic_version"}


def _schema(connection: Connection) -> dict[str, tuple[list[str], list[str]]]:
    """Each table (but Alembic's own) with its columns and indexes, by name."""
    inspector = inspect(connection)
    return {
        table: (
            sorted(column["name"] for column in inspector.get_columns(table)),
            sorted(str(index["name"]) for index in inspector.get_indexes(table)),
        )
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


async def test_every_revision_steps_down_and_up_again(fresh_database_url: str) -> None:
    """The stairway: each revision's downgrade undoes exactly its upgrade."""
    revisions = revisions_oldest_first()
    assert revisions
    for revision, previous in revisions:
        before = await on_connection(fresh_database_url, _schema)
        await asyncio.to_thread(upgrade, fresh_database_url, revision)
        after = await on_connection(fresh_database_url, _schema)
        await asyncio.to_thread(downgrade, fresh_database_url, previous)
        assert await on_connection(fresh_database_url, _schema) == before, revision
        await asyncio.to_thread(upgrade, fresh_database_url, revision)
        assert await on_connection(fresh_database_url, _schema) == after, revision


async def test_models_and_migrations_agree(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url)

    assert await on_connection(fresh_database_url, model_differences) == []


async def test_json_documents_keep_their_value_through_0003_down_and_up(fresh_database_url: str) -> None:
    """0003 changes how PostgreSQL stores JSON documents (``jsonb`` to ``json``); what is stored survives."""
    payload = {"b": 1, "a": [1.5, "x", None, {"deep": True}]}
    await asyncio.to_thread(upgrade, fresh_database_url, "0002")
    await on_connection(fresh_database_url, lambda connection: _log_event(connection, payload))

    read: list[Any] = []
    for revision, step in (("0003", upgrade), ("0002", downgrade), ("head", upgrade)):
        await asyncio.to_thread(step, fresh_database_url, revision)
        read.append(await on_connection(fresh_database_url, _payloads))

    assert read == [[payload]] * 3


def _log_event(connection: Connection, payload: dict[str, Any]) -> None:
    event = {"type": "t", "workspace_id": uuid4(), "payload": payload, "created_at": datetime.now(UTC)}
    connection.execute(insert(EVENTS_TABLE).values(event))
    connection.commit()


def _payloads(connection: Connection) -> list[Any]:
    return list(connection.scalars(select(EVENTS_TABLE.c.payload)))


async def test_0007_indexes_existing_data_and_its_downgrade_removes_the_index(
    fresh_database_url: str,
) -> None:
    """0007 indexes what is stored already; its downgrade removes every trace; up again rebuilds it."""
    await asyncio.to_thread(upgrade, fresh_database_url, "0006")
    await on_connection(fresh_database_url, _store_a_conversation)
    assert await search_tables(fresh_database_url) == set()

    for step, revision in ((upgrade, "0007"), (downgrade, "0006"), (upgrade, "0007")):
        await asyncio.to_thread(step, fresh_database_url, revision)
        built = revision == "0007"
        assert bool(await search_tables(fresh_database_url)) is built
        if built:
            assert await on_connection(fresh_database_url, _indexed) == [("title", None), ("body", 1)]
    # Written after the migration: kept by the triggers.
    await on_connection(fresh_database_url, lambda connection: _store_a_conversation(connection, "later"))
    assert len(await on_connection(fresh_database_url, _indexed)) == 4


def _store_a_conversation(connection: Connection, word: str = "") -> None:
    """A user, their workspace, a conversation titled ``title {word}`` and its message ``body {word}``."""
    tables = Base.metadata.tables
    now = datetime.now(UTC)
    user, workspace, conversation = uuid4(), uuid4(), uuid4()
    stamps = {"created_at": now, "updated_at": now}
    connection.execute(
        insert(tables["users"]).values(
            id=user, email=f"{user}@example.com", name="u", password_hash="x", **stamps
        )
    )
    connection.execute(
        insert(tables["workspaces"]).values(
            id=workspace, name="w", description="", metadata={}, owner_id=user, last_active_at=now, **stamps
        )
    )
    connection.execute(
        insert(tables["conversations"]).values(
            id=conversation,
            workspace_id=workspace,
            title=f"title {word}",
            modality="chat",
            metadata={},
            message_count=1,
            last_seq=1,
            last_active_at=now,
            **stamps,
        )
    )
    connection.execute(
        insert(tables["messages"]).values(
            id=uuid4(),
            conversation_id=conversation,
            seq=1,
            role="user",
            content=f"body {word}",
            metadata={},
            author_id=user,
            status="complete",
            **stamps,
        )
    )
    connection.commit()


def _indexed(connection: Connection) -> list[tuple[str, int | None]]:
    """What a search for each stored word finds: the documents' words and their messages' seq."""
    if connection.dialect.name == "postgresql":
        query = """SELECT split_part(strip(d.document)::text, ' ', 1), m.seq FROM search_documents AS d
            LEFT JOIN messages AS m ON m.id = d.message_id ORDER BY d.id"""
    else:
        query = """SELECT i.body, m.seq FROM search_index AS i JOIN search_documents AS d ON d.id = i.rowid
            LEFT JOIN messages AS m ON m.id = d.message_id ORDER BY d.id"""
    return [
        (str(word).strip("'").split()[0].strip("'"), seq) for word, seq in connection.execute(text(query))
    ]
