"""Users and their password hashes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from threadline.database.models import UserRow
from threadline.database.repositories.base import Repository
from threadline.database.types import column_values
from threadline.errors import Conflict
from threadline.models.domain.user import User


def to_user(row: UserRow) -> User:
    return User.model_validate(row)


class UserRepository(Repository):
    async def get(self, user_id: UUID) -> User | None:
        row = await self._session.get(UserRow, user_id)
        return to_user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self._session.scalar(select(UserRow).where(UserRow.email == email))
        return to_user(row) if row else None

    async def get_password_hash(self, user_id: UUID) -> str | None:
        return await self._session.scalar(select(UserRow.password_hash).where(UserRow.id == user_id))

    async def add(self, *, email: str, name: str, password_hash: str, now: datetime) -> User:
        row = UserRow(
            id=uuid4(), email=email, name=name, password_hash=password_hash, created_at=now, updated_at=now
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError:
            raise Conflict("An account with this email already exists") from None
        return to_user(row)

    async def update(
        self, user_id: UUID, *, now: datetime, name: str | None = None, password_hash: str | None = None
    ) -> User | None:
        """Apply the given changes; ``None`` if the user no longer exists."""
        values = {**column_values(name=name, password_hash=password_hash), "updated_at": now}
        row = await self._session.scalar(
            update(UserRow).where(UserRow.id == user_id).values(values).returning(UserRow)
        )
        return to_user(row) if row else None

    async def delete(self, user_id: UUID) -> bool:
        """Delete the account; what refers to it goes with it (API keys, sign-ins, memberships, idempotency
        keys), and its messages stay without an author. Whether there was one."""
        deleted = await self._session.scalar(
            delete(UserRow).where(UserRow.id == user_id).returning(UserRow.id)
        )
        return deleted is not None
