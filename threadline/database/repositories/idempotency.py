"""Idempotency keys of message posts: which body a key was first used with, and what it answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, tuple_, update

from threadline.database.models import IdempotencyKeyRow
from threadline.database.repositories.base import Repository
from threadline.models.domain.idempotency import StoredRequest


class IdempotencyRepository(Repository):
    async def get(self, user_id: UUID, key: str) -> StoredRequest | None:
        row = await self._session.scalar(
            select(IdempotencyKeyRow).where(
                IdempotencyKeyRow.user_id == user_id, IdempotencyKeyRow.key == key
            )
        )
        return StoredRequest(request_hash=row.request_hash, response=row.response) if row else None

    async def claim(self, user_id: UUID, key: str, *, request_hash: str, now: datetime) -> bool:
        """Reserve the key for this transaction; ``False`` if another request holds it already.

        On PostgreSQL a concurrent claim of the same key waits here until the first one commits.
        """
        claimed = await self._session.scalar(
            self._insert_unless_present(IdempotencyKeyRow)
            .values(user_id=user_id, key=key, request_hash=request_hash, response=None, created_at=now)
            .returning(IdempotencyKeyRow.key)
        )
        return claimed is not None

    async def store_response(self, user_id: UUID, key: str, response: dict[str, Any]) -> None:
        await self._session.execute(
            update(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.user_id == user_id, IdempotencyKeyRow.key == key)
            .values(response=response)
        )

    async def prune(self, *, older_than: datetime, limit: int) -> int:
        """Delete up to ``limit`` keys created before ``older_than``; returns how many."""
        expired = (
            select(IdempotencyKeyRow.user_id, IdempotencyKeyRow.key)
            .where(IdempotencyKeyRow.created_at < older_than)
            .limit(limit)
        )
        result = await self._session.execute(
            delete(IdempotencyKeyRow).where(
                tuple_(IdempotencyKeyRow.user_id, IdempotencyKeyRow.key).in_(expired)
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
