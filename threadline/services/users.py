"""The caller's own account."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.errors import Unauthenticated, ValidationFailed
from threadline.models.domain.event import EventType
from threadline.models.domain.user import Actor, User
from threadline.models.domain.workspace import Role
from threadline.services.access import require_account
from threadline.services.events import member_event
from threadline.services.security import PasswordHasher
from threadline.services.sign_ins import SignInRegistry
from threadline.services.workspaces import delete_workspace_with_events


class UserService:
    """Use cases on the caller's own account."""

    def __init__(
        self, new_unit_of_work: UnitOfWorkFactory, *, hasher: PasswordHasher, sign_ins: SignInRegistry
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._hasher = hasher
        self._sign_ins = sign_ins

    async def get_me(self, *, actor: Actor) -> User:
        async with self._new_unit_of_work() as uow:
            return await require_account(uow, actor)

    async def update_me(
        self, *, actor: Actor, name: str | None, password: str | None, current_password: str | None
    ) -> User:
        """Change the name and/or the password; the slow hashing runs outside the one writing transaction.

        With neither, nothing is written (not even ``updated_at``): the account is answered as it is. A
        ``current_password`` is checked whenever it is given: a wrong one is refused, not ignored. A new
        password ends every sign-in of the account, the caller's own too: whoever knew the old one is out.
        """
        if password is not None or current_password is not None:
            await self._check_current_password(actor, current_password)
        if name is None and password is None:
            return await self.get_me(actor=actor)
        new_hash = None if password is None else await self._hasher.hash(password)
        async with self._new_unit_of_work() as uow:
            user = await uow.users.update(
                actor.user_id, now=datetime.now(UTC), name=name, password_hash=new_hash
            )
            if new_hash is not None:
                await uow.sign_ins.remove_all_for_user(actor.user_id)
            await uow.commit()
        if user is None:
            raise Unauthenticated("The account no longer exists")
        if new_hash is not None:
            self._sign_ins.ended_all_of(actor.user_id)
        return user

    async def delete_me(self, *, actor: Actor, current_password: str) -> None:
        """Delete the account with its API keys, sign-ins and memberships, and the workspaces it owns with
        everything in them; its messages in other workspaces stay, without an author.

        Each change is logged as its own use case would log it: ``workspace.deleted`` and every member's
        ``member.removed`` for a workspace it owned, its own ``member.removed`` in the others.
        """
        await self._check_current_password(actor, current_password)
        async with self._new_unit_of_work() as uow:
            await require_account(uow, actor)
            # Held exclusively, as a workspace deletion holds its owner: a member being added to one of its
            # workspaces, or a change through one of its memberships, commits first or finds it gone.
            await uow.access.hold_members([actor.user_id], exclusively=True)
            for workspace_id in sorted(await uow.access.workspace_ids_for_user(actor.user_id)):
                await self._leave_or_delete(uow, actor, workspace_id)
            if not await uow.users.delete(actor.user_id):
                raise Unauthenticated("The account no longer exists")  # deleted by a concurrent request
            await uow.commit()
        self._sign_ins.ended_all_of(actor.user_id)

    @staticmethod
    async def _leave_or_delete(uow: UnitOfWork, actor: Actor, workspace_id: UUID) -> None:
        """Delete the workspace if the account owns it, else leave it; with the events either writes."""
        member = await uow.members.get(workspace_id, actor.user_id)
        if member is None:
            return
        if member.role is Role.OWNER:
            if workspace := await uow.workspaces.get(workspace_id):
                await delete_workspace_with_events(uow, workspace, actor)
        elif await uow.members.remove(workspace_id, actor.user_id):
            await uow.events.append(member_event(EventType.MEMBER_REMOVED, member, actor), now=_now())

    async def _check_current_password(self, actor: Actor, current_password: str | None) -> None:
        if current_password is None:
            raise ValidationFailed("A new password needs current_password", loc=("body", "current_password"))
        async with self._new_unit_of_work() as uow:
            stored_hash = await uow.users.get_password_hash(actor.user_id)
        if not await self._hasher.verify(stored_hash, current_password):
            raise ValidationFailed("current_password is not correct", loc=("body", "current_password"))


def _now() -> datetime:
    return datetime.now(UTC)
