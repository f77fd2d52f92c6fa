"""Permission checks, in one place: every use case asks "what role does this user have here?" the same way.

A workspace or conversation the caller is not a member of is ``NotFound``, exactly as if it did not exist;
a member without the needed role gets ``Forbidden``.

A use case that goes on to change something passes ``for_change=True``, as its transaction's first step:
the caller's memberships are then held until the transaction ends (``hold_members``), so that the caller's
removal or a change of their role waits for the change to commit rather than landing between the check
and the change.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Forbidden, NotFound, ThreadlineError, Unauthenticated
from threadline.models.domain.conversation import Conversation, Message
from threadline.models.domain.user import Actor, User
from threadline.models.domain.workspace import Role, WorkspaceAccess

_Found = TypeVar("_Found")


async def require_account(uow: UnitOfWork, actor: Actor) -> User:
    """The caller's account. A token that verifies can still name an account that is gone (a database
    restored from an older backup, with the same secret key): that is a credential no longer valid."""
    user = await uow.users.get(actor.user_id)
    if user is None:
        raise Unauthenticated("The account no longer exists")
    return user


async def require_workspace_role(
    uow: UnitOfWork, actor: Actor, workspace_id: UUID, needed: Role, *, for_change: bool = False
) -> Role:
    await _hold_if(uow, actor, for_change=for_change)
    role = await uow.access.role_in_workspace(actor.user_id, workspace_id)
    if role is None:
        raise NotFound("Workspace not found")
    _require(role, needed)
    return role


async def require_workspace(
    uow: UnitOfWork, actor: Actor, workspace_id: UUID, needed: Role, *, for_change: bool = False
) -> WorkspaceAccess:
    """``require_workspace_role`` for a use case that needs the workspace itself: one query."""
    await _hold_if(uow, actor, for_change=for_change)
    access = await uow.access.workspace_for_user(actor.user_id, workspace_id)
    if access is None:
        raise NotFound("Workspace not found")
    _require(access.role, needed)
    return access


async def require_conversation(
    uow: UnitOfWork, actor: Actor, conversation_id: UUID, needed: Role
) -> Conversation:
    """``require_conversation_role`` for a use case that reads the conversation itself: one query."""
    conversation, _ = _conversation_access(
        await uow.access.conversation_for_user(actor.user_id, conversation_id), needed
    )
    return conversation


async def require_conversation_role(
    uow: UnitOfWork, actor: Actor, conversation_id: UUID, needed: Role, *, for_change: bool = False
) -> tuple[UUID, Role]:
    """The conversation's workspace id and the caller's role there."""
    await _hold_if(uow, actor, for_change=for_change)
    return _conversation_access(
        await uow.access.role_for_conversation(actor.user_id, conversation_id), needed
    )


async def require_conversation_version(
    uow: UnitOfWork, actor: Actor, conversation_id: UUID, needed: Role
) -> int:
    """``require_conversation_role`` for a conditional read: the conversation's version (its newest
    event id), checked and read in one query."""
    found = await uow.access.role_and_version_for_conversation(actor.user_id, conversation_id)
    if found is None:
        raise NotFound("Conversation not found")
    _, role, version = found
    _require(role, needed)
    return version


async def conversation_roles(
    uow: UnitOfWork,
    actor: Actor,
    conversation_ids: Collection[UUID],
    needed: Role,
) -> dict[UUID, tuple[UUID, Role] | ThreadlineError]:
    """``require_conversation_role`` for several conversations in one query: for each, its workspace id and
    the caller's role there, or the error that refuses it. A change holds its callers itself first (the
    appender holds all of a batch's posters at once)."""
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


async def _hold_if(uow: UnitOfWork, actor: Actor, *, for_change: bool) -> None:
    """Before a change's check: hold the caller's memberships until commit (``hold_members``)."""
    if for_change:
        await uow.access.hold_members([actor.user_id])


def _conversation_access(found: tuple[_Found, Role] | None, needed: Role) -> tuple[_Found, Role]:
    if found is None:
        raise NotFound("Conversation not found")
    _require(found[1], needed)
    return found


def _require(role: Role, needed: Role) -> None:
    if not role.allows(needed):
        raise Forbidden(f"This needs the {needed.value} role or higher in the workspace")
