"""Workspaces and their memberships."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Row, Select, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from threadline.database.models import CONVERSATIONS_TABLE, MEMBERSHIPS_TABLE, USERS_TABLE, WORKSPACES_TABLE
from threadline.database.pagination import keyset_page
from threadline.database.repositories.base import Repository
from threadline.database.types import given
from threadline.errors import Conflict, NotFound
from threadline.models.domain.pagination import Cursor, Page
from threadline.models.domain.user import User
from threadline.models.domain.workspace import Member, Role, Workspace, WorkspaceAccess

_WORKSPACES = WORKSPACES_TABLE.c
_MEMBERSHIPS = MEMBERSHIPS_TABLE.c
_USERS = USERS_TABLE.c


def to_workspace(row: Row[Any] | Mapping[str, Any]) -> Workspace:
    """The one mapping to ``Workspace``: from a row of the table, or the values just written (the columns are
    named as the fields are)."""
    return Workspace.model_validate(row)


def to_member(
    workspace_id: UUID, user: Row[*tuple[Any, ...]] | User, *, role: str, added_at: datetime
) -> Member:
    """The one mapping to ``Member``: from a membership (as read, or as just written) and its user (a row of
    the users table, or the domain user)."""
    return Member(
        workspace_id=workspace_id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=Role(role),
        added_at=added_at,
    )


def _joined_member(row: Row[Any]) -> Member:
    """A row of ``_MEMBERS``: the membership's columns and its user's (whose ``id`` is the user's)."""
    return to_member(row.workspace_id, row, role=row.role, added_at=row.added_at)


def to_workspace_access(row: Row[Any]) -> WorkspaceAccess:
    """A row of ``workspaces_of``: the workspace's columns and the user's role."""
    return WorkspaceAccess(workspace=to_workspace(row), role=Role(row.role))


def workspaces_of(user_id: UUID) -> Select[Any]:
    """The user's workspaces, each with the user's role in it (rows for ``to_workspace_access``)."""
    return (
        select(WORKSPACES_TABLE, _MEMBERSHIPS.role)
        .join(MEMBERSHIPS_TABLE, _MEMBERSHIPS.workspace_id == _WORKSPACES.id)
        .where(_MEMBERSHIPS.user_id == user_id)
    )


# Built once: every conversation or message change runs it.
_TOUCH = (
    update(WORKSPACES_TABLE)
    .where(
        _WORKSPACES.id.in_(bindparam("workspace_ids", expanding=True)),
        _WORKSPACES.last_active_at < bindparam("now"),
    )
    .values(last_active_at=bindparam("now"))
)
_MEMBER_USER = (_USERS.id, _USERS.email, _USERS.name)
"""What a member shows of their user: not the password hash, nor the account's times."""
_MEMBERS = select(MEMBERSHIPS_TABLE, *_MEMBER_USER).join(USERS_TABLE, _USERS.id == _MEMBERSHIPS.user_id)
"""Memberships with their users (rows for ``_joined_member``)."""


class WorkspaceRepository(Repository):
    async def add(
        self, *, name: str, description: str, metadata: dict[str, Any], owner_id: UUID, now: datetime
    ) -> Workspace:
        row = {
            "id": uuid4(),
            "name": name,
            "description": description,
            "metadata": metadata,
            "owner_id": owner_id,
            "created_at": now,
            "updated_at": now,
            "last_active_at": now,
        }
        await self._session.execute(insert(WORKSPACES_TABLE), row)
        return to_workspace(row)

    async def get(self, workspace_id: UUID) -> Workspace | None:
        result = await self._session.execute(select(WORKSPACES_TABLE).where(_WORKSPACES.id == workspace_id))
        row = result.first()
        return to_workspace(row) if row else None

    async def list_for_user(
        self, user_id: UUID, *, limit: int, cursor: Cursor | None
    ) -> Page[WorkspaceAccess]:
        return await keyset_page(
            self._session,
            workspaces_of(user_id),
            list_name="workspaces",
            at=_WORKSPACES.created_at,
            id_=_WORKSPACES.id,
            limit=limit,
            cursor=cursor,
            to_domain=to_workspace_access,
        )

    async def update(
        self,
        workspace_id: UUID,
        *,
        now: datetime,
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Workspace | None:
        """Apply the ``name``, ``description`` and ``metadata`` given; ``None`` if the workspace is gone."""
        values = {**given(name=name, description=description, metadata=metadata), "updated_at": now}
        result = await self._session.execute(
            update(WORKSPACES_TABLE)
            .where(_WORKSPACES.id == workspace_id)
            .values(values)
            .returning(WORKSPACES_TABLE)
        )
        row = result.first()
        return to_workspace(row) if row else None

    async def touch(self, workspace_ids: Collection[UUID], *, now: datetime) -> None:
        """Move ``last_active_at`` forward (never back) after activity inside these workspaces."""
        ids = list(workspace_ids)
        await self._lock_in_id_order(WORKSPACES_TABLE, ids)
        await self._session.execute(_TOUCH, {"workspace_ids": ids, "now": now})

    async def delete(self, workspace_id: UUID) -> list[Member] | None:
        """Delete the workspace with everything in it; returns the members it had at that moment, or
        ``None`` if it is gone already.

        Conversations go first (locked in id order, as a batch of posts locks them), then memberships,
        then the workspace row: the order in which every other writer locks them (a post locks its
        conversations, then touches the workspace), so none deadlock.
        """
        in_workspace = CONVERSATIONS_TABLE.c.workspace_id == workspace_id
        await self._lock_rows_in_id_order(CONVERSATIONS_TABLE, in_workspace, to_delete=True)
        await self._session.execute(delete(CONVERSATIONS_TABLE).where(in_workspace))
        removed = (
            await self._session.execute(
                delete(MEMBERSHIPS_TABLE)
                .where(_MEMBERSHIPS.workspace_id == workspace_id)
                .returning(_MEMBERSHIPS.user_id, _MEMBERSHIPS.role, _MEMBERSHIPS.added_at)
            )
        ).all()
        if not removed:
            return None  # a workspace always has its owner as a member: another deletion got here first
        users = {
            user.id: user
            for user in await self._session.execute(
                select(*_MEMBER_USER).where(_USERS.id.in_([membership.user_id for membership in removed]))
            )
        }
        await self._session.execute(delete(WORKSPACES_TABLE).where(_WORKSPACES.id == workspace_id))
        return [
            to_member(
                workspace_id, users[membership.user_id], role=membership.role, added_at=membership.added_at
            )
            for membership in sorted(removed, key=lambda membership: membership.added_at)
        ]


class MemberRepository(Repository):
    async def get(self, workspace_id: UUID, user_id: UUID) -> Member | None:
        result = await self._session.execute(
            _MEMBERS.where(_MEMBERSHIPS.workspace_id == workspace_id, _MEMBERSHIPS.user_id == user_id)
        )
        row = result.first()
        return _joined_member(row) if row else None

    async def list_for_workspace(
        self, workspace_id: UUID, *, limit: int, cursor: Cursor | None
    ) -> Page[Member]:
        return await keyset_page(
            self._session,
            _MEMBERS.where(_MEMBERSHIPS.workspace_id == workspace_id),
            list_name="members",
            at=_MEMBERSHIPS.added_at,
            id_=_MEMBERSHIPS.user_id,
            limit=limit,
            cursor=cursor,
            to_domain=_joined_member,
        )

    async def add(self, workspace_id: UUID, user: User, *, role: Role, now: datetime) -> Member:
        """Make ``user`` a member; the member is built from what was written, not read back."""
        try:
            added = await self._session.scalar(
                self._insert_unless_present(MEMBERSHIPS_TABLE)
                .values(workspace_id=workspace_id, user_id=user.id, role=role, added_at=now)
                .returning(_MEMBERSHIPS.user_id)
            )
        except IntegrityError:
            # Not a duplicate (those are skipped): the workspace is gone since the caller's check.
            raise NotFound("Workspace not found") from None
        if added is None:
            raise Conflict("This user is already a member of the workspace")
        return to_member(workspace_id, user, role=role, added_at=now)

    async def set_role(self, member: Member, *, role: Role) -> Member | None:
        """Give ``member`` another role; the member as changed, or ``None`` if they are no longer a member."""
        changed = await self._session.scalar(
            update(MEMBERSHIPS_TABLE)
            .where(_MEMBERSHIPS.workspace_id == member.workspace_id, _MEMBERSHIPS.user_id == member.user_id)
            .values(role=role)
            .returning(_MEMBERSHIPS.user_id)
        )
        return member.model_copy(update={"role": role}) if changed else None

    async def remove(self, workspace_id: UUID, user_id: UUID) -> bool:
        """Whether there was such a membership to remove."""
        removed = await self._session.scalar(
            delete(MEMBERSHIPS_TABLE)
            .where(_MEMBERSHIPS.workspace_id == workspace_id, _MEMBERSHIPS.user_id == user_id)
            .returning(_MEMBERSHIPS.user_id)
        )
        return removed is not None
