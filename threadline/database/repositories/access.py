"""The one question every permission check asks: what role does this user hold in this workspace?

A check made before a change can ``hold`` the caller's memberships (``hold_members``) before it reads
them, so that removing the member or changing their role waits until the change commits, instead of
landing between the check and the change (which would commit a write by someone no longer allowed to make
it).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, func, select

from threadline.database.models import CONVERSATIONS_TABLE, EVENTS_TABLE, MEMBERSHIPS_TABLE
from threadline.database.repositories.base import Repository
from threadline.database.repositories.conversations import to_conversation
from threadline.database.repositories.workspaces import to_workspace_access, workspaces_of
from threadline.models.domain.conversation import Conversation
from threadline.models.domain.workspace import Role, WorkspaceAccess

_HOLD = select(func.pg_advisory_xact_lock_shared(bindparam("space"), bindparam("key")))
_HOLD_EXCLUSIVELY = select(func.pg_advisory_xact_lock(bindparam("space"), bindparam("key")))
_TRY_HOLD = select(func.pg_try_advisory_xact_lock_shared(bindparam("space"), bindparam("key")))
_MEMBER_LOCKS = 0x6D656D62
"""The advisory-lock space of members' holds ("memb"), apart from the event log's and the throttle's."""

_CONVERSATIONS = CONVERSATIONS_TABLE.c
_MEMBERSHIPS = MEMBERSHIPS_TABLE.c


def _member_of_conversation(*columns: Any) -> Select[*tuple[Any, ...]]:
    """``columns`` and the role of conversations whose workspace the user (``:user_id``) is a member of."""
    return (
        select(*columns, _MEMBERSHIPS.role)
        .join(MEMBERSHIPS_TABLE, _MEMBERSHIPS.workspace_id == _CONVERSATIONS.workspace_id)
        .where(_MEMBERSHIPS.user_id == bindparam("user_id"))
    )


def _member_lock_key(user_id: UUID) -> int:
    """The user's key in ``_MEMBER_LOCKS``: the id's first 32 bits (a collision only makes two users'
    changes and removals take turns)."""
    return (user_id.int >> 96) - 2**31


# Built once: every request on a conversation or message asks this first.
_MEMBER_OF_CONVERSATION = _member_of_conversation(_CONVERSATIONS.id, _CONVERSATIONS.workspace_id)
_ONE_CONVERSATION = _CONVERSATIONS.id == bindparam("conversation_id")
_ROLE_FOR_CONVERSATION = _MEMBER_OF_CONVERSATION.where(_ONE_CONVERSATION)
_ROLES_FOR_CONVERSATIONS = _MEMBER_OF_CONVERSATION.where(
    _CONVERSATIONS.id.in_(bindparam("conversation_ids", expanding=True))
)
_CONVERSATION_FOR_MEMBER = _member_of_conversation(CONVERSATIONS_TABLE).where(_ONE_CONVERSATION)
_NEWEST_EVENT = (
    select(func.coalesce(func.max(EVENTS_TABLE.c.id), 0))
    .where(EVENTS_TABLE.c.conversation_id == _CONVERSATIONS.id)
    .scalar_subquery()
    .label("version")
)
_ROLE_AND_VERSION = _member_of_conversation(_CONVERSATIONS.workspace_id, _NEWEST_EVENT).where(
    _ONE_CONVERSATION
)


class ResourceAccessRepository(Repository):
    """Each question answers ``None`` (or leaves an item out) where the user has no access at all."""

    async def hold_members(self, user_ids: Collection[UUID], *, exclusively: bool = False) -> None:
        """Hold these users' memberships, in every workspace, until commit.

        Shared by a change that relies on its caller's role; exclusively by a removal or a change of
        role, which so waits for the changes in progress and never lands between one's check and its
        commit. On PostgreSQL these are advisory locks, which queue fairly, rather than row locks on the
        memberships, which let later share locks overtake a waiting removal: a member who kept changing
        things could otherwise put their removal off for good. Taken in one order, so that no
        two transactions wait for each other in a circle. SQLite runs one transaction at a time: nothing
        can land in between there.
        """
        if not self._on_postgresql:
            return
        statement = _HOLD_EXCLUSIVELY if exclusively else _HOLD
        for key in sorted({_member_lock_key(user_id) for user_id in user_ids}):
            await self._session.execute(statement, {"space": _MEMBER_LOCKS, "key": key})

    async def try_hold_members(self, user_ids: Collection[UUID]) -> set[UUID]:
        """``hold_members`` (shared) without waiting: the users whose memberships are now held.

        A user is left out while another transaction holds them exclusively, or waits to (their removal or
        change of role, a deletion of a workspace they own, or any of these for a user whose key is the
        same): such a change is never overtaken, and the caller goes on without waiting for it. On SQLite,
        all of them.
        """
        if not self._on_postgresql:
            return set(user_ids)
        by_key: dict[int, list[UUID]] = {}
        for user_id in user_ids:
            by_key.setdefault(_member_lock_key(user_id), []).append(user_id)
        held: set[UUID] = set()
        for key, users in sorted(by_key.items()):
            if await self._session.scalar(_TRY_HOLD, {"space": _MEMBER_LOCKS, "key": key}):
                held.update(users)
        return held

    async def role_in_workspace(self, user_id: UUID, workspace_id: UUID) -> Role | None:
        role = await self._session.scalar(
            select(_MEMBERSHIPS.role).where(
                _MEMBERSHIPS.workspace_id == workspace_id, _MEMBERSHIPS.user_id == user_id
            )
        )
        return Role(role) if role else None

    async def workspace_for_user(self, user_id: UUID, workspace_id: UUID) -> WorkspaceAccess | None:
        """The workspace with the user's role in it, in one query."""
        result = await self._session.execute(
            workspaces_of(user_id).where(_MEMBERSHIPS.workspace_id == workspace_id)
        )
        row = result.first()
        return to_workspace_access(row) if row else None

    async def role_for_conversation(self, user_id: UUID, conversation_id: UUID) -> tuple[UUID, Role] | None:
        """The conversation's workspace and the user's role there, in one query."""
        result = await self._session.execute(
            _ROLE_FOR_CONVERSATION, {"conversation_id": conversation_id, "user_id": user_id}
        )
        row = result.first()
        return (row.workspace_id, Role(row.role)) if row else None

    async def role_and_version_for_conversation(
        self, user_id: UUID, conversation_id: UUID
    ) -> tuple[UUID, Role, int] | None:
        """``role_for_conversation`` and the conversation's newest event id (0 if none), in one query:
        what a conditional read of it needs first (``EventRepository.newest_in_conversation``)."""
        result = await self._session.execute(
            _ROLE_AND_VERSION, {"conversation_id": conversation_id, "user_id": user_id}
        )
        row = result.first()
        return (row.workspace_id, Role(row.role), row.version) if row else None

    async def conversation_for_user(
        self, user_id: UUID, conversation_id: UUID
    ) -> tuple[Conversation, Role] | None:
        """The conversation with the user's role in its workspace, in one query."""
        result = await self._session.execute(
            _CONVERSATION_FOR_MEMBER, {"conversation_id": conversation_id, "user_id": user_id}
        )
        row = result.first()
        return (to_conversation(row), Role(row.role)) if row else None

    async def roles_for_conversations(
        self, user_id: UUID, conversation_ids: Collection[UUID]
    ) -> dict[UUID, tuple[UUID, Role]]:
        """``role_for_conversation`` for several conversations in one query."""
        result = await self._session.execute(
            _ROLES_FOR_CONVERSATIONS, {"conversation_ids": list(conversation_ids), "user_id": user_id}
        )
        return {conversation_id: (workspace_id, Role(role)) for conversation_id, workspace_id, role in result}

    async def workspace_ids_for_user(self, user_id: UUID) -> set[UUID]:
        result = await self._session.scalars(
            select(_MEMBERSHIPS.workspace_id).where(_MEMBERSHIPS.user_id == user_id)
        )
        return set(result)
