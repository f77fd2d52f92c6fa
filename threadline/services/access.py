"""Permission checks, in one place: every use case asks "what role does this user have here?" the same way.

A workspace or conversation the caller is not a member of is ``NotFound``, exactly as if it did not exist;
a member without the needed role gets ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Forbidden, NotFound, ThreadlineError
from threadline.models.domain.conversation import Conversation, Message
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role, WorkspaceAccess

_Found = TypeVar("_Found")


async def require_workspace_role(uow: UnitOfWork, actor: Actor, workspace_id: UUID, needed: Role) -> Role:
    role = await uow.access.role_in_workspace(actor.user_id, workspace_id)
    if role is None:
        raise NotFound("Workspace not found")
    _require(role, needed)
    return role


async def require_workspace(
    uow: UnitOfWork, actor: Actor, workspace_id: UUID, needed: Role
) -> WorkspaceAccess:
    """``require_workspace_role`` for a use case that needs the workspace itself: one query."""
    access = await uow.access.workspace_for_user(actor.user_id, workspace_id)
    if access is None:
        raise NotFound("Workspace not found")
    _require(access.role, needed)
    return access


async def require_conversation(
    uow: UnitOfWork, actor: Actor, conversation_id: UUID, needed: Role
) -> Conversation:
    """``require_conversation_role`` for a use case that needs the conversation itself: one query."""
    conversation, _ = _conversation_access(
        await uow.access.conversation_for_user(actor.user_id, conversation_id), needed
    )
    return conversation


async def require_conversation_role(
    uow: UnitOfWork, actor: Actor, conversation_id: UUID, needed: Role
) -> tuple[UUID, Role]:
    """The conversation's workspace id and the caller's role there."""
    return _conversation_access(
        await uow.access.role_for_conversation(actor.user_id, conversation_id), needed
    )


async def conversation_roles(
    uow: UnitOfWork, actor: Actor, conversation_ids: Collection[UUID], needed: Role
) -> dict[UUID, tuple[UUID, Role] | ThreadlineError]:
    """``require_conversation_role`` for several conversations in one query: for each, its workspace id and
    the caller's role there, or the error that refuses it."""
    found = await uow.access.roles_for_conversations(actor.user_id, conversation_ids)
    answers: dict[UUID, tuple[UUID, Role] | ThreadlineError] = {}
    for conversation_id in conversation_ids:
        try:
            answers[conversation_id] = _conversation_access(found.get(conversation_id), needed)
        except ThreadlineError as refused:
            answers[conversation_id] = refused
    return answers


def require_message_change(actor: Actor, role: Role, message: Message) -> None:
    """A message is edited or deleted by its author (while still an editor) or by the workspace owner."""
    if role is Role.OWNER or (role.allows(Role.EDITOR) and message.author_id == actor.user_id):
        return
    raise Forbidden("Only the message's author or the workspace owner may change it")


def _conversation_access(found: tuple[_Found, Role] | None, needed: Role) -> tuple[_Found, Role]:
    if found is None:
        raise NotFound("Conversation not found")
    _require(found[1], needed)
    return found


def _require(role: Role, needed: Role) -> None:
    if not role.allows(needed):
        raise Forbidden(f"This needs the {needed.value} role or higher in the workspace")
