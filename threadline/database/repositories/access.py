"""The one question every permission check asks: what role does this user hold in this workspace?

A check made before a change can ``hold`` the membership it reads: on PostgreSQL it is read ``FOR SHARE``,
so removing the member or changing their role waits until the change commits, instead of landing between
the check and the change (which would commit a write by someone no longer allowed to make it). Checks
for changes run first in their transactions, so this lock is taken before any other. SQLite runs one
transaction at a time: nothing can land in between there.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Select, bindparam, select

from threadline.database.models import CONVERSATIONS_TABLE, MEMBERSHIPS_TABLE, ConversationRow, MembershipRow
from threadline.database.repositories.base import Repository
from threadline.database.repositories.conversations import to_conversation
from threadline.database.repositories.workspaces import to_workspace_access, workspaces_of
from threadline.models.domain.conversation import Conversation
from threadline.models.domain.workspace import Role, WorkspaceAccess

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])

_CONVERSATIONS = CONVERSATIONS_TABLE.c
_MEMBERSHIPS = MEMBERSHIPS_TABLE.c


def _member_of_conversation(*columns: Any) -> Select[*tuple[Any, ...]]:
    """``columns`` and the role of conversations whose workspace the user (``:user_id``) is a member of."""
    return (
        select(*columns, _MEMBERSHIPS.role)
        .join(MEMBERSHIPS_TABLE, _MEMBERSHIPS.workspace_id == _CONVERSATIONS.workspace_id)
        .where(_MEMBERSHIPS.user_id == bindparam("user_id"))
    )


def _held(query: _Query) -> _Query:
    """``query`` with the memberships it reads locked until commit (only the memberships: the
    conversation or workspace beside them is locked, or not, by the change itself)."""
    return query.with_for_update(read=True, of=MEMBERSHIPS_TABLE)


# Built once, with and without the lock: every request on a conversation or message asks this first.
_MEMBER_OF_CONVERSATION = _member_of_conversation(_CONVERSATIONS.id, _CONVERSATIONS.workspace_id)
_ONE_CONVERSATION = _CONVERSATIONS.id == bindparam("conversation_id")
_ROLE_FOR_CONVERSATION = _MEMBER_OF_CONVERSATION.where(_ONE_CONVERSATION)
_ROLES_FOR_CONVERSATIONS = _MEMBER_OF_CONVERSATION.where(
    _CONVERSATIONS.id.in_(bindparam("conversation_ids", expanding=True))
)
_CONVERSATION_FOR_MEMBER = _member_of_conversation(ConversationRow).where(_ONE_CONVERSATION)
_ROLE_FOR_CONVERSATION_HELD = _held(_ROLE_FOR_CONVERSATION)
_ROLES_FOR_CONVERSATIONS_HELD = _held(_ROLES_FOR_CONVERSATIONS)
_CONVERSATION_FOR_MEMBER_HELD = _held(_CONVERSATION_FOR_MEMBER)


class ResourceAccessRepository(Repository):
    """Each question answers ``None`` (or leaves an item out) where the user has no access at all."""

    async def role_in_workspace(
        self, user_id: UUID, workspace_id: UUID, *, hold: bool = False
    ) -> Role | None:
        query = select(MembershipRow.role).where(
            MembershipRow.workspace_id == workspace_id, MembershipRow.user_id == user_id
        )
        role = await self._session.scalar(_held(query) if hold else query)
        return Role(role) if role else None

    async def workspace_for_user(
        self, user_id: UUID, workspace_id: UUID, *, hold: bool = False
    ) -> WorkspaceAccess | None:
        """The workspace with the user's role in it, in one query."""
        query = workspaces_of(user_id).where(MembershipRow.workspace_id == workspace_id)
        row = (await self._session.execute(_held(query) if hold else query)).first()
        return to_workspace_access(row) if row else None

    async def role_for_conversation(
        self, user_id: UUID, conversation_id: UUID, *, hold: bool = False
    ) -> tuple[UUID, Role] | None:
        """The conversation's workspace and the user's role there, in one query."""
        row = (
            await self._session.execute(
                _ROLE_FOR_CONVERSATION_HELD if hold else _ROLE_FOR_CONVERSATION,
                {"conversation_id": conversation_id, "user_id": user_id},
            )
        ).first()
        return (row.workspace_id, Role(row.role)) if row else None

    async def conversation_for_user(
        self, user_id: UUID, conversation_id: UUID, *, hold: bool = False
    ) -> tuple[Conversation, Role] | None:
        """The conversation with the user's role in its workspace, in one query."""
        row = (
            await self._session.execute(
                _CONVERSATION_FOR_MEMBER_HELD if hold else _CONVERSATION_FOR_MEMBER,
                {"conversation_id": conversation_id, "user_id": user_id},
            )
        ).first()
        return (to_conversation(row[0]), Role(row[1])) if row else None

    async def roles_for_conversations(
        self, user_id: UUID, conversation_ids: Collection[UUID], *, hold: bool = False
    ) -> dict[UUID, tuple[UUID, Role]]:
        """``role_for_conversation`` for several conversations in one query."""
        result = await self._session.execute(
            _ROLES_FOR_CONVERSATIONS_HELD if hold else _ROLES_FOR_CONVERSATIONS,
            {"conversation_ids": list(conversation_ids), "user_id": user_id},
        )
        return {conversation_id: (workspace_id, Role(role)) for conversation_id, workspace_id, role in result}

    async def workspace_ids_for_user(self, user_id: UUID) -> set[UUID]:
        result = await self._session.scalars(
            select(MembershipRow.workspace_id).where(MembershipRow.user_id == user_id)
        )
        return set(result)
