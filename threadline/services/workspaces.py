"""Workspaces and their members: who may see and change what (API.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.errors import Forbidden, NotFound, ValidationFailed
from threadline.models.domain.event import Event, EventType
from threadline.models.domain.pagination import Cursor, Page
from threadline.models.domain.user import Actor, canonical_email
from threadline.models.domain.workspace import Member, Role, Workspace, WorkspaceAccess
from threadline.services.access import require_account, require_workspace, require_workspace_role
from threadline.services.events import member_event, workspace_event


class WorkspaceService:
    def __init__(self, new_unit_of_work: UnitOfWorkFactory) -> None:
        self._new_unit_of_work = new_unit_of_work

    async def create_workspace(
        self, *, actor: Actor, name: str, description: str, metadata: dict[str, Any]
    ) -> WorkspaceAccess:
        """A new workspace, owned by its creator.

        Its event is the owner's ``member.added``: the creator's open ``/v1/events`` streams start hearing
        the workspace at once, as for any other membership.
        """
        async with self._new_unit_of_work() as uow:
            creator = await require_account(uow, actor)
            now = _now()
            workspace = await uow.workspaces.add(
                name=name, description=description, metadata=metadata, owner_id=creator.id, now=now
            )
            owner = await uow.members.add(workspace.id, creator, role=Role.OWNER, now=now)
            await uow.events.append(member_event(EventType.MEMBER_ADDED, owner, actor), now=now)
            await uow.commit()
        return WorkspaceAccess(workspace=workspace, role=Role.OWNER)

    async def list_workspaces(self, *, actor: Actor, limit: int, cursor: str | None) -> Page[WorkspaceAccess]:
        position = Cursor.parse(cursor)
        async with self._new_unit_of_work() as uow:
            return await uow.workspaces.list_for_user(actor.user_id, limit=limit, cursor=position)

    async def get_workspace(self, *, actor: Actor, workspace_id: UUID) -> WorkspaceAccess:
        async with self._new_unit_of_work() as uow:
            return await require_workspace(uow, actor, workspace_id, Role.VIEWER)

    async def update_workspace(
        self,
        *,
        actor: Actor,
        workspace_id: UUID,
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WorkspaceAccess:
        """Apply the ``name``, ``description`` and ``metadata`` given (owner only); no changes, no event."""
        async with self._new_unit_of_work() as uow:
            if name is None and description is None and metadata is None:
                return await require_workspace(uow, actor, workspace_id, Role.OWNER)
            role = await require_workspace_role(uow, actor, workspace_id, Role.OWNER)
            now = _now()
            workspace = _existing_workspace(
                await uow.workspaces.update(
                    workspace_id, now=now, name=name, description=description, metadata=metadata
                )
            )
            await uow.events.append(workspace_event(EventType.WORKSPACE_UPDATED, workspace, actor), now=now)
            await uow.commit()
        return WorkspaceAccess(workspace=workspace, role=role)

    async def delete_workspace(self, *, actor: Actor, workspace_id: UUID) -> None:
        """Delete the workspace with everything in it.

        Besides ``workspace.deleted``, each member gets a ``member.removed`` naming them, so a client that
        resumes its personal stream later still learns it lost the workspace.
        """
        async with self._new_unit_of_work() as uow:
            workspace = (await require_workspace(uow, actor, workspace_id, Role.OWNER)).workspace
            # The owner is held exclusively: a member being added (the owner's change holds the owner) is
            # then either seen by the deletion, and removed with an event, or refused after it. The other
            # members need no hold, whatever their number: each of their changes locks a conversation or
            # the workspace row, which the deletion locks too, so it commits before or finds its target gone.
            await uow.access.hold_members([actor.user_id], exclusively=True)
            events = await delete_workspace_with_events(uow, workspace, actor)
            if not events:
                raise NotFound("Workspace not found")  # deleted by a concurrent request
            await uow.commit()

    async def list_members(
        self, *, actor: Actor, workspace_id: UUID, limit: int, cursor: str | None
    ) -> Page[Member]:
        position = Cursor.parse(cursor)
        async with self._new_unit_of_work() as uow:
            await require_workspace_role(uow, actor, workspace_id, Role.VIEWER)
            return await uow.members.list_for_workspace(workspace_id, limit=limit, cursor=position)

    async def add_member(self, *, actor: Actor, workspace_id: UUID, email: str, role: Role) -> Member:
        _check_assignable(role)
        async with self._new_unit_of_work() as uow:
            # Held, so that a deletion of the workspace either waits for the new member, and removes them
            # with an event, or goes first and this one is not found.
            await require_workspace_role(uow, actor, workspace_id, Role.OWNER, for_change=True)
            user = await uow.users.get_by_email(canonical_email(email))
            if user is None:
                raise NotFound("No user has this email")
            now = _now()
            member = await uow.members.add(workspace_id, user, role=role, now=now)
            await uow.events.append(member_event(EventType.MEMBER_ADDED, member, actor), now=now)
            await uow.commit()
        return member

    async def change_member_role(
        self, *, actor: Actor, workspace_id: UUID, user_id: UUID, role: Role
    ) -> Member:
        """Make a member an editor or a viewer (owner only); setting the role they have writes no event."""
        _check_assignable(role)
        async with self._new_unit_of_work() as uow:
            await require_workspace_role(uow, actor, workspace_id, Role.OWNER)
            await uow.access.hold_members([user_id], exclusively=True)
            member = _existing_member(await uow.members.get(workspace_id, user_id))
            if member.role is Role.OWNER:
                raise Forbidden("The owner's role cannot be changed")
            if member.role is role:
                return member
            member = _existing_member(await uow.members.set_role(member, role=role))
            await uow.events.append(member_event(EventType.MEMBER_UPDATED, member, actor), now=_now())
            await uow.commit()
        return member

    async def remove_member(self, *, actor: Actor, workspace_id: UUID, user_id: UUID) -> None:
        """The owner removes anyone else; any other member may remove only themself (leave)."""
        leaving = user_id == actor.user_id
        async with self._new_unit_of_work() as uow:
            await require_workspace_role(uow, actor, workspace_id, Role.VIEWER if leaving else Role.OWNER)
            await uow.access.hold_members([user_id], exclusively=True)
            member = _existing_member(await uow.members.get(workspace_id, user_id))
            if member.role is Role.OWNER:
                raise Forbidden("The owner cannot be removed from the workspace")
            if not await uow.members.remove(workspace_id, user_id):
                raise NotFound("Member not found")  # removed by a concurrent request
            await uow.events.append(member_event(EventType.MEMBER_REMOVED, member, actor), now=_now())
            await uow.commit()


async def delete_workspace_with_events(uow: UnitOfWork, workspace: Workspace, actor: Actor) -> list[Event]:
    """Delete ``workspace`` with everything in it, and log ``workspace.deleted`` and each member's
    ``member.removed``; nothing if another deletion got there first. Rows first, the log last: every
    writer takes the log's lock last."""
    members = await uow.workspaces.delete(workspace.id)
    if members is None:
        return []
    now = _now()
    removed = [member_event(EventType.MEMBER_REMOVED, member, actor) for member in members]
    return [
        await uow.events.append(workspace_event(EventType.WORKSPACE_DELETED, workspace, actor), now=now),
        *[await uow.events.append(event, now=now) for event in removed],
    ]


def _existing_workspace(workspace: Workspace | None) -> Workspace:
    """The access check passed, but on PostgreSQL a concurrent delete can still land before the update."""
    if workspace is None:
        raise NotFound("Workspace not found")
    return workspace


def _existing_member(member: Member | None) -> Member:
    if member is None:
        raise NotFound("Member not found")
    return member


def _check_assignable(role: Role) -> None:
    """A workspace has exactly one owner, its creator: the role is never handed out."""
    if role is Role.OWNER:
        raise ValidationFailed("role must be editor or viewer", loc=("body", "role"))


def _now() -> datetime:
    return datetime.now(UTC)
