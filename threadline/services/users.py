"""The caller's own account."""

from __future__ import annotations

from datetime import UTC, datetime

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unauthenticated, ValidationFailed
from threadline.models.domain.user import Actor, User
from threadline.services.access import require_account
from threadline.services.security import PasswordHasher
from threadline.services.sign_ins import SignInRegistry


class UserService:
    """Use cases on the caller's own account."""

    def __init__(self, uow: UnitOfWork, *, hasher: PasswordHasher, sign_ins: SignInRegistry) -> None:
        self._uow = uow
        self._hasher = hasher
        self._sign_ins = sign_ins

    async def get_me(self, *, actor: Actor) -> User:
        async with self._uow as uow:
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
        async with self._uow as uow:
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

    async def _check_current_password(self, actor: Actor, current_password: str | None) -> None:
        if current_password is None:
            raise ValidationFailed("A new password needs current_password", loc=("body", "current_password"))
        async with self._uow as uow:
            stored_hash = await uow.users.get_password_hash(actor.user_id)
        if not await self._hasher.verify(stored_hash, current_password):
            raise ValidationFailed("current_password is not correct", loc=("body", "current_password"))
