"""Writers that lock several conversations take them in id order, so on PostgreSQL none deadlock.

A batch of posts locks its conversations in id order. Deleting a workspace must take them in the same
order: a bare ``DELETE … WHERE workspace_id = …`` locks them in the order its scan meets them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from tests.support import databases
from tests.support.accounts import unique_email
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.models.domain.workspace import Role

pytestmark = pytest.mark.postgres


async def _workspace_met_higher_id_first(database: Database) -> tuple[UUID, UUID, UUID]:
    """A workspace and its two conversations (lower id, higher id), where the one with the higher id is
    stored first and was active first: by table order and by the activity index, a scan meets it first."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        owner = await uow.users.add(email=unique_email("owner"), name="Owner", password_hash="-", now=now)
        await uow.commit()
    while True:
        async with UnitOfWork(database) as uow:
            workspace = await uow.workspaces.add(
                name="Locks", description="", metadata={}, owner_id=owner.id, now=now
            )
            await uow.members.add(workspace.id, owner, role=Role.OWNER, now=now)
            first, second = [
                await uow.conversations.add(
                    workspace_id=workspace.id, title="", modality="chat", metadata={}, now=active_at
                )
                for active_at in (now, now + timedelta(seconds=1))
            ]
            await uow.commit()
        if first.id > second.id:
            return workspace.id, second.id, first.id


async def _delete_workspace(database: Database, workspace_id: UUID) -> None:
    async with UnitOfWork(database) as uow:
        await uow.workspaces.delete(workspace_id)
        await uow.commit()


async def test_deleting_a_workspace_queues_behind_a_batch_of_posts_instead_of_deadlocking(
    postgres_dsn: str,
) -> None:
    database = Database(create_engine(databases.sqlalchemy_url(postgres_dsn)))
    try:
        workspace_id, lower, higher = await _workspace_met_higher_id_first(database)
        now = datetime.now(UTC)

        async with UnitOfWork(database) as batch:
            # The batch has locked its first conversation when the deletion starts.
            await batch.conversations.reserve_seqs({lower: 1}, now=now)
            deleting = asyncio.ensure_future(_delete_workspace(database, workspace_id))
            await databases.until_waiting_on_locks(postgres_dsn, 1)
            # Had the deletion locked the conversation stored first, this would be a deadlock.
            assert await batch.conversations.reserve_seqs({higher: 1}, now=now) == {higher: range(1, 2)}
            await batch.commit()
        await deleting

        async with UnitOfWork(database) as uow:
            assert await uow.workspaces.get(workspace_id) is None
            assert await uow.conversations.get(higher) is None
    finally:
        await database.dispose()


async def _add_conversation(database: Database, workspace_id: UUID) -> UUID:
    async with UnitOfWork(database) as uow:
        conversation = await uow.conversations.add(
            workspace_id=workspace_id, title="", modality="chat", metadata={}, now=datetime.now(UTC)
        )
        await uow.commit()
    return conversation.id


async def test_a_batch_of_posts_does_not_hold_up_new_conversations_in_its_workspaces(
    postgres_dsn: str,
) -> None:
    """A batch locks its conversations and workspaces to change counters, not keys: a new conversation,
    whose foreign key only needs the workspace to stay, goes ahead while the batch is still open."""
    database = Database(create_engine(databases.sqlalchemy_url(postgres_dsn)))
    try:
        workspace_id, lower, _ = await _workspace_met_higher_id_first(database)
        other_workspace_id, other, _ = await _workspace_met_higher_id_first(database)
        now = datetime.now(UTC)
        async with UnitOfWork(database) as batch:
            # Posts into two workspaces at once: they are locked explicitly, in id order.
            await batch.conversations.lock_for_writing([lower, other])
            await batch.conversations.reserve_seqs({lower: 1, other: 1}, now=now)
            await batch.workspaces.touch({workspace_id, other_workspace_id}, now=now)
            adding = asyncio.ensure_future(_add_conversation(database, workspace_id))
            # Generous: a FOR UPDATE lock would hold it until the batch commits, which is never, here.
            done, _ = await asyncio.wait({adding}, timeout=10)
            assert adding in done, "creating a conversation waited on the batch's locks"
            await batch.commit()
        async with UnitOfWork(database) as uow:
            assert await uow.conversations.get(adding.result()) is not None
    finally:
        await database.dispose()
