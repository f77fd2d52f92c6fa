"""Sign-ins: one row per login, alive until it expires or is deleted."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import delete, select, update

from threadline.database.models import SignInRow
from threadline.database.pagination import keyset_page
from threadline.database.repositories.base import Repository
from threadline.models.domain.pagination import Cursor, Page
from threadline.models.domain.user import SignIn


def to_sign_in(row: SignInRow) -> SignIn:
    return SignIn.model_validate(row)


class SignInRepository(Repository):
    async def add(
        self, *, user_id: UUID, now: datetime, expires_at: datetime, client_address: str, user_agent: str
    ) -> SignIn:
        row = SignInRow(
            id=uuid4(),
            user_id=user_id,
            created_at=now,
            expires_at=expires_at,
            last_used_at=now,
            client_address=client_address,
            user_agent=user_agent,
        )
        self._session.add(row)
        await self._session.flush()
        return to_sign_in(row)

    async def get_live(self, sign_in_id: UUID, *, now: datetime) -> SignIn | None:
        row = await self._session.scalar(
            select(SignInRow).where(SignInRow.id == sign_in_id, SignInRow.expires_at > now)
        )
        return to_sign_in(row) if row else None

    async def live_among(self, sign_in_ids: Collection[UUID], *, now: datetime) -> set[UUID]:
        """Which of these sign-ins still work."""
        live = await self._session.scalars(
            select(SignInRow.id).where(SignInRow.id.in_(sign_in_ids), SignInRow.expires_at > now)
        )
        return set(live)

    async def list_for_user(
        self, user_id: UUID, *, now: datetime, limit: int, cursor: Cursor | None
    ) -> Page[SignIn]:
        query = select(SignInRow).where(SignInRow.user_id == user_id, SignInRow.expires_at > now)
        return await keyset_page(
            self._session,
            query,
            list_name="sign_ins",
            at=SignInRow.created_at,
            id_=SignInRow.id,
            limit=limit,
            cursor=cursor,
            to_domain=to_sign_in,
        )

    async def remove(self, sign_in_id: UUID, *, user_id: UUID) -> SignIn | None:
        """End a sign-in of ``user_id``; the sign-in as it was, or ``None`` if it had no such one."""
        row = await self._session.scalar(
            delete(SignInRow)
            .where(SignInRow.id == sign_in_id, SignInRow.user_id == user_id)
            .returning(SignInRow)
        )
        return to_sign_in(row) if row else None

    async def remove_all_for_user(self, user_id: UUID) -> None:
        await self._session.execute(delete(SignInRow).where(SignInRow.user_id == user_id))

    async def mark_used(self, sign_in_ids: Collection[UUID], *, at: datetime) -> None:
        """Record a use at ``at`` (never moving ``last_used_at`` back)."""
        await self._session.execute(
            update(SignInRow)
            .where(SignInRow.id.in_(sign_in_ids), SignInRow.last_used_at < at)
            .values(last_used_at=at)
        )

    async def prune(self, *, now: datetime, limit: int) -> int:
        """Delete up to ``limit`` expired sign-ins; returns how many."""
        expired = (select(SignInRow.id).where(SignInRow.expires_at <= now).limit(limit)).scalar_subquery()
        result = await self._session.execute(delete(SignInRow).where(SignInRow.id.in_(expired)))
        return int(getattr(result, "rowcount", 0) or 0)
