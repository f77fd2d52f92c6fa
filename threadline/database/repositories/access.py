"""The one question every permission check asks: what role does this user hold in this workspace?"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import bindparam, select

from threadline.database.models import CONVERSATIONS_TABLE, MEMBERSHIPS_TABLE, MembershipRow
from threadline.database.repositories.base import Repository
from threadline.models.domain.workspace import Role

_CONVERSATIONS = CONVERSATIONS_TABLE.c
_MEMBERSHIPS = MEMBERSHIPS_TABLE.c
# Built once: every request on a conversation or message asks this first.
_MEMBER_OF_CONVERSATION = (
    select(_CONVERSATIONS.id, _CONVERSATIONS.workspace_id, _MEMBERSHIPS.role)
    .join(MEMBERSHIPS_TABLE, _MEMBERSHIPS.workspace_id == _CONVERSATIONS.workspace_id)
    .where(_MEMBERSHIPS.user_id == bindparam("user_id"))
)
_ROLE_FOR_CONVERSATION = _MEMBER_OF_CONVERSATION.where(_CONVERSATIONS.id == bindparam("conversation_id"))
_ROLES_FOR_CONVERSATIONS = _MEMBER_OF_CONVERSATION.where(
    _CONVERSATIONS.id.in_(bindparam("conversation_ids", expanding=True))
)


class ResourceAccessRepository(Repository):
    async def role_in_workspace(self, user_id: UUID, workspace_id: UUID) -> Role | None:
        role = await self._session.scalar(
            select(MembershipRow.role).where(
                MembershipRow.workspace_id == workspace_id, MembershipRow.user_id == user_id
            )
        )
        return Role(role) if role else None

    async def role_for_conversation(self, user_id: UUID, conversation_id: UUID) -> tuple[UUID, Role] | None:
        """The conversation's workspace and the user's role there, in one query (``None``: no access)."""
        result = await self._session.execute(
            _ROLE_FOR_CONVERSATION, {"conversation_id": conversation_id, "user_id": user_id}
        )
        row = result.first()
        return (row.workspace_id, Role(row.role)) if row else None

    async def roles_for_conversations(
        self, user_id: UUID, conversation_ids: Collection[UUID]
    ) -> dict[UUID, tuple[UUID, Role]]:
        """``role_for_conversation`` for several conversations in one query; any without access is absent."""
        result = await self._session.execute(
            _ROLES_FOR_CONVERSATIONS, {"conversation_ids": list(conversation_ids), "user_id": user_id}
        )
        return {conversation_id: (workspace_id, Role(role)) for conversation_id, workspace_id, role in result}

    async def workspace_ids_for_user(self, user_id: UUID) -> set[UUID]:
        result = await self._session.scalars(
            select(MembershipRow.workspace_id).where(MembershipRow.user_id == user_id)
        )
        return set(result)
