"""API keys, stored only as a hash of their secret."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, select, update

from threadline.database.models import ApiKeyRow
from threadline.database.pagination import keyset_page
from threadline.database.repositories.base import Repository
from threadline.models.domain.pagination import Cursor, Page
from threadline.models.domain.user import ApiKey

LAST_USED_RESOLUTION = timedelta(minutes=1)


def to_api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey.model_validate(row)


def _usable(now: datetime) -> ColumnElement[bool]:
    """Not revoked, not expired."""
    return ApiKeyRow.revoked_at.is_(None) & (ApiKeyRow.expires_at.is_(None) | (ApiKeyRow.expires_at > now))


class ApiKeyRepository(Repository):
    async def add(
        self,
        *,
        user_id: UUID,
        name: str,
        prefix: str,
        key_hash: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiKey:
        row = ApiKeyRow(
            id=uuid4(),
            user_id=user_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            created_at=now,
            expires_at=expires_at,
            last_used_at=None,
            revoked_at=None,
        )
        self._session.add(row)
        await self._session.flush()
        return to_api_key(row)

    async def find_usable(self, key_hash: str, *, now: datetime) -> ApiKey | None:
        """The live key with this hash (not revoked, not expired), its ``last_used_at`` brought up to date.

        ``last_used_at`` moves at most once per ``LAST_USED_RESOLUTION``, so a busy key does not turn
        every request into a write.
        """
        row = await self._session.scalar(
            select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash, _usable(now))
        )
        if row is None:
            return None
        if row.last_used_at is None or row.last_used_at <= now - LAST_USED_RESOLUTION:
            row.last_used_at = now
            await self._session.flush()
        return to_api_key(row)

    async def usable_among(self, key_ids: Collection[UUID], *, now: datetime) -> set[UUID]:
        """Which of these keys still work."""
        usable = await self._session.scalars(
            select(ApiKeyRow.id).where(ApiKeyRow.id.in_(key_ids), _usable(now))
        )
        return set(usable)

    async def list_for_user(self, user_id: UUID, *, limit: int, cursor: Cursor | None) -> Page[ApiKey]:
        query = select(ApiKeyRow).where(ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_(None))
        return await keyset_page(
            self._session,
            query,
            list_name="api_keys",
            at=ApiKeyRow.created_at,
            id_=ApiKeyRow.id,
            limit=limit,
            cursor=cursor,
            to_domain=to_api_key,
        )

    async def revoke(self, key_id: UUID, *, user_id: UUID, now: datetime) -> bool:
        revoked = await self._session.scalar(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiKeyRow.id)
        )
        return revoked is not None
