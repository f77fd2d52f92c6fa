"""What a unit of work promises: reads that agree, on PostgreSQL's default isolation level; and a commit
that stands, whatever fails after it."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from sqlalchemy.exc import InternalError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import databases
from tests.support.accounts import unique_email
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unavailable
from threadline.models.domain.conversation import MessageRole, NewMessage
from threadline.models.domain.event import EventType, NewEvent
from threadline.services.message_batches import store_messages


async def _conversation(database: Database) -> tuple[UUID, UUID]:
    """An empty conversation, and the user who owns its workspace."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        owner = await uow.users.add(email=unique_email("owner"), name="Owner", password_hash="-", now=now)
        workspace = await uow.workspaces.add(
            name="Snapshot", description="", metadata={}, owner_id=owner.id, now=now
        )
        conversation = await uow.conversations.add(
            workspace_id=workspace.id, title="", modality="chat", metadata={}, now=now
        )
        await uow.commit()
    return conversation.id, owner.id


async def _post_elsewhere(database: Database, conversation_id: UUID, author_id: UUID) -> None:
    """A post committed by another transaction."""
    post = NewMessage(
        conversation_id=conversation_id,
        role=MessageRole.USER,
        content="meanwhile",
        metadata={},
        author_id=author_id,
    )
    async with UnitOfWork(database) as uow:
        await store_messages(uow, [post])
        await uow.commit()


async def _count_then_messages(
    database: Database, conversation_id: UUID, author_id: UUID, *, snapshot: bool
) -> tuple[int, int]:
    """The conversation's ``message_count``, then its messages read after another post has committed."""
    async with UnitOfWork(database) as uow:
        if snapshot:
            await uow.use_one_snapshot()
        conversation = await uow.conversations.get(conversation_id)
        assert conversation is not None
        await _post_elsewhere(database, conversation_id, author_id)
        window = await uow.messages.window(conversation_id, limit=50)
    return conversation.message_count, len(window.items)


@pytest.mark.postgres
async def test_one_snapshot_keeps_every_read_of_the_unit_of_work_in_agreement(postgres_dsn: str) -> None:
    database = Database(create_engine(databases.sqlalchemy_url(postgres_dsn)))
    try:
        conversation_id, author_id = await _conversation(database)

        # Each statement reads anew by default: the two reads disagree.
        assert await _count_then_messages(database, conversation_id, author_id, snapshot=False) == (0, 1)
        # In one snapshot the messages read are exactly those counted.
        assert await _count_then_messages(database, conversation_id, author_id, snapshot=True) == (1, 1)
    finally:
        await database.dispose()


@pytest.fixture(
    params=[
        OperationalError("ROLLBACK", None, ConnectionResetError("connection lost")),
        InternalError("ROLLBACK", None, RuntimeError("the driver's own failure")),
    ],
    ids=["connection lost", "other database error"],
)
def closing_fails(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing a session (which returns its connection) fails: the connection was lost just then, or the
    driver failed otherwise."""
    close = AsyncSession.close

    async def close_then_fail(session: AsyncSession) -> None:
        await close(session)
        raise request.param

    monkeypatch.setattr(AsyncSession, "close", close_then_fail)


async def test_a_commit_stands_though_closing_the_connection_after_it_fails(
    database: Database, closing_fails: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error here would answer 503 or 500 for a change that was made; its client would make it again."""
    async with UnitOfWork(database) as uow:
        user = await uow.users.add(
            email=unique_email("kept"), name="Kept", password_hash="-", now=datetime.now(UTC)
        )
        await uow.commit()

    monkeypatch.undo()
    async with UnitOfWork(database) as uow:
        assert await uow.users.get(user.id) == user


async def test_closing_fails_when_nothing_was_committed(database: Database, closing_fails: None) -> None:
    """The control: the same failure without a commit is raised (a lost connection as unavailable)."""
    with pytest.raises((Unavailable, InternalError)):
        async with UnitOfWork(database) as uow:
            await uow.users.get(uuid4())


def _event(event_type: EventType) -> NewEvent:
    return NewEvent(type=event_type, workspace_id=uuid4(), actor_id=None, data={})


async def test_a_commit_counts_the_events_it_logged_by_type_and_a_rollback_none(database: Database) -> None:
    counted: list[dict[EventType, int]] = []
    created, deleted = EventType.MESSAGE_CREATED, EventType.MESSAGE_DELETED

    async with UnitOfWork(database, count_events=lambda logged: counted.append(dict(logged))) as uow:
        now = datetime.now(UTC)
        await uow.events.append_all([_event(created)] * 2, now=now)
        await uow.events.append(_event(deleted), now=now)
        await uow.commit()
        await uow.events.append(_event(created), now=now)
        await uow.commit()
    async with UnitOfWork(database, count_events=lambda logged: counted.append(dict(logged))) as uow:
        await uow.events.append(_event(deleted), now=datetime.now(UTC))

    assert counted == [{created: 2, deleted: 1}, {created: 1}]
