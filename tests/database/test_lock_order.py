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
