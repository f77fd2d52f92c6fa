"""Failed logins, counted per throttling key over a sliding window."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select

from threadline.database.models import LoginFailureRow
from threadline.database.repositories.base import Repository
from threadline.models.domain.login import FailureCount

_INSERT = insert(LoginFailureRow).returning(LoginFailureRow.id)
_LOCK_KEY = select(func.pg_advisory_xact_lock(bindparam("space"), bindparam("key")))
_KEY_LOCKS = 0x7468726F
"""The advisory-lock space of throttling keys ("thro"), apart from the event log's lock."""


class LoginFailureRepository(Repository):
    async def lock(self, key_hashes: Collection[str]) -> None:
        """Make transactions on the same keys take turns until commit, on PostgreSQL: otherwise guesses sent
        at once would all count the failures before any of them is added. Keys are locked in one order, so
        no two transactions wait for each other in a circle; SQLite runs one writer at a time anyway."""
        if not self._on_postgresql:
            return
        for key_hash in sorted(set(key_hashes)):
            # Two 32-bit halves: the space, and the first 32 bits of the key's hash (a collision only makes
            # two keys take turns).
            key = int(key_hash[:8], 16) - 2**31
            await self._session.execute(_LOCK_KEY, {"space": _KEY_LOCKS, "key": key})

    async def since(self, key_hashes: Collection[str], *, since: datetime) -> dict[str, FailureCount]:
        """How many failures each key has had after ``since``, and the oldest of them; keys without any
        are absent."""
        rows = await self._session.execute(
            select(LoginFailureRow.key_hash, func.count(), func.min(LoginFailureRow.failed_at))
            .where(LoginFailureRow.key_hash.in_(key_hashes), LoginFailureRow.failed_at > since)
            .group_by(LoginFailureRow.key_hash)
        )
        return {key: FailureCount(count=count, oldest=oldest) for key, count, oldest in rows}

    async def add(self, key_hashes: Collection[str], *, at: datetime) -> list[int]:
        """Count a failure against each key; their ids, for ``remove``."""
        result = await self._session.execute(
            _INSERT, [{"key_hash": key_hash, "failed_at": at} for key_hash in key_hashes]
        )
        return list(result.scalars())

    async def remove(self, ids: Collection[int]) -> None:
        await self._session.execute(delete(LoginFailureRow).where(LoginFailureRow.id.in_(ids)))

    async def clear(self, key_hash: str) -> None:
        await self._session.execute(delete(LoginFailureRow).where(LoginFailureRow.key_hash == key_hash))

    async def prune(self, *, older_than: datetime, limit: int) -> int:
        """Delete up to ``limit`` failures from before ``older_than``; returns how many."""
        expired = (
            select(LoginFailureRow.id).where(LoginFailureRow.failed_at < older_than).limit(limit)
        ).scalar_subquery()
        result = await self._session.execute(delete(LoginFailureRow).where(LoginFailureRow.id.in_(expired)))
        return int(getattr(result, "rowcount", 0) or 0)
