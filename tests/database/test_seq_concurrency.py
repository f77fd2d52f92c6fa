"""``seq`` under real database concurrency: many units of work, each on its own connection, at once.

The API tests drive concurrency through one ASGI app; these go a layer down, so that on PostgreSQL the
posters really are separate transactions contending for the conversation row.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

import pytest

from tests.support import databases
from tests.support.accounts import unique_email
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.models.domain.conversation import Message, MessageRole, NewMessage
from threadline.models.domain.user import Actor, Credential
from threadline.models.domain.workspace import Role
from threadline.services.message_appender import MessageAppender
from threadline.services.message_batches import store_messages
from threadline.services.messages import MessageService

POSTERS = 40


@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[Database]:
    database = Database(create_engine(url, pool_size=POSTERS))
    try:
        yield database
    finally:
        await database.dispose()


async def _seed(database: Database) -> tuple[Actor, UUID]:
    """A user who owns a workspace with one empty conversation."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        user = await uow.users.add(email=unique_email("poster"), name="Poster", password_hash="-", now=now)
        workspace = await uow.workspaces.add(
            name="Seq", description="", metadata={}, owner_id=user.id, now=now
        )
        await uow.members.add(workspace.id, user, role=Role.OWNER, now=now)
        conversation = await uow.conversations.add(
            workspace_id=workspace.id, title="", modality="chat", metadata={}, now=now
        )
        await uow.commit()
    return Actor(user_id=user.id, credential=Credential.ACCESS_TOKEN), conversation.id


async def _post_concurrently(
    database: Database, actor: Actor, conversation_id: UUID, count: int
) -> list[Message]:
    """``count`` posts, all started at once, each in a transaction and on a connection of its own.

    Each poster has its own appender: one appender would write posts that arrive together in a single
    transaction, and these tests are about transactions that contend.
    """
    async with contextlib.AsyncExitStack() as stack:
        services = [
            MessageService(
                partial(UnitOfWork, database), await stack.enter_async_context(_appender(database))
            )
            for _ in range(count)
        ]
        return await asyncio.gather(
            *[
                service.post_message(
                    actor=actor,
                    conversation_id=conversation_id,
                    content=f"m{n}",
                    role=MessageRole.USER,
                    metadata={},
                )
                for n, service in enumerate(services)
            ]
        )


@asynccontextmanager
async def _appender(database: Database) -> AsyncIterator[MessageAppender]:
    appender = MessageAppender(partial(UnitOfWork, database))
    appender.start()
    try:
        yield appender
    finally:
        await appender.close()


async def _assert_stored_in_order(database: Database, conversation_id: UUID, count: int) -> None:
    """Messages 1..count, counted on the conversation, with their events in the same order, and their
    ``created_at`` never running against ``seq``."""
    expected = list(range(1, count + 1))
    async with UnitOfWork(database) as uow:
        stored = await uow.messages.window(conversation_id, limit=200)
        conversation = await uow.conversations.get(conversation_id)
        events = (await uow.events.replay(0, limit=1000, conversation_id=conversation_id)).events
    assert [message.seq for message in stored.items] == expected
    created = [message.created_at for message in stored.items]
    assert created == sorted(created)
    assert conversation is not None
    assert conversation.message_count == count
    assert [event.data["seq"] for event in events if event.type == "message.created"] == expected


async def test_concurrent_units_of_work_get_gapless_seq_in_commit_order(database_url: str) -> None:
    async with _opened(database_url) as database:
        actor, conversation_id = await _seed(database)

        posted = await _post_concurrently(database, actor, conversation_id, POSTERS)

        assert sorted(message.seq for message in posted) == list(range(1, POSTERS + 1))
        await _assert_stored_in_order(database, conversation_id, POSTERS)


@pytest.mark.postgres
async def test_posters_queue_on_the_conversation_row_and_a_rollback_leaves_no_gap(postgres_dsn: str) -> None:
    waiters = POSTERS // 2
    async with _opened(databases.sqlalchemy_url(postgres_dsn)) as database:
        actor, conversation_id = await _seed(database)

        async with UnitOfWork(database) as holder:
            assert await holder.conversations.reserve_seqs({conversation_id: 1}, now=datetime.now(UTC)) == {
                conversation_id: range(1, 2)
            }
            posting = asyncio.ensure_future(_post_concurrently(database, actor, conversation_id, waiters))
            await databases.until_waiting_on_locks(postgres_dsn, waiters)
            # Leaving without a commit rolls the holder back: its seq must go to a waiter, not be lost.
        posted = await posting

        assert sorted(message.seq for message in posted) == list(range(1, waiters + 1))
        await _assert_stored_in_order(database, conversation_id, waiters)


@pytest.mark.postgres
async def test_a_poster_that_waited_for_the_lock_stores_a_later_created_at(postgres_dsn: str) -> None:
    """The time is read once the conversation is locked, not before waiting for it."""
    async with _opened(databases.sqlalchemy_url(postgres_dsn)) as database:
        actor, conversation_id = await _seed(database)
        post = NewMessage(
            conversation_id=conversation_id,
            role=MessageRole.USER,
            content="first",
            metadata={},
            author_id=actor.user_id,
        )

        async with UnitOfWork(database) as holder:
            await holder.conversations.lock_for_writing([conversation_id])
            waiting = asyncio.ensure_future(_post_concurrently(database, actor, conversation_id, 1))
            await databases.until_waiting_on_locks(postgres_dsn, 1)
            [first] = await store_messages(holder, [post])
            await holder.commit()
        [second] = await waiting

        assert first is not None
        assert (first.seq, second.seq) == (1, 2)
        assert second.created_at > first.created_at
