"""Adding a member: a duplicate is a conflict that leaves the transaction usable; a workspace that is gone
is not found."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from tests.support.accounts import unique_email
from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Conflict, NotFound
from threadline.models.domain.workspace import Role


async def test_adding_a_member_twice_is_a_conflict_and_the_transaction_goes_on(database: Database) -> None:
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        owner = await uow.users.add(email=unique_email("owner"), name="Owner", password_hash="-", now=now)
        workspace = await uow.workspaces.add(
            name="Twice", description="", metadata={}, owner_id=owner.id, now=now
        )
        await uow.members.add(workspace.id, owner, role=Role.OWNER, now=now)

        with pytest.raises(Conflict):
            await uow.members.add(workspace.id, owner, role=Role.EDITOR, now=now)
        # Skipped, not failed: on PostgreSQL a failed statement would abort the whole transaction.
        await uow.commit()

    async with UnitOfWork(database) as uow:
        member = await uow.members.get(workspace.id, owner.id)
    assert member is not None
    assert member.role is Role.OWNER


async def test_adding_a_member_to_a_workspace_that_is_gone_is_not_found(database: Database) -> None:
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        user = await uow.users.add(email=unique_email("user"), name="User", password_hash="-", now=now)
        await uow.commit()

    with pytest.raises(NotFound):
        async with UnitOfWork(database) as uow:
            await uow.members.add(uuid4(), user, role=Role.EDITOR, now=now)
