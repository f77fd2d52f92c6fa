"""What every repository shares: the session of the unit of work it belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _on_postgresql(self) -> bool:
        """PostgreSQL rather than SQLite: row and advisory locks, and its own upsert, exist only there."""
        return self._session.get_bind().dialect.name == "postgresql"

    def _insert_unless_present(self, entity: Any) -> postgresql.Insert | sqlite.Insert:
        """``INSERT … ON CONFLICT DO NOTHING``, in the database's own dialect: a row already there is
        skipped (``RETURNING`` gives nothing) rather than failing the transaction, or being logged by
        PostgreSQL as an error."""
        insert = postgresql.insert if self._on_postgresql else sqlite.insert
        return insert(entity).on_conflict_do_nothing()

    async def _lock_in_id_order(self, table: Table, ids: Sequence[UUID]) -> None:
        """Lock several rows by id before one statement changes them all; one row needs no such care."""
        if len(ids) > 1:
            await self._lock_rows_in_id_order(table, table.c.id.in_(ids))

    async def _lock_rows_in_id_order(
        self, table: Table, where: ColumnElement[bool], *, to_delete: bool = False
    ) -> None:
        """Lock the rows ``where`` picks, in id order, before one statement changes or deletes them all.

        PostgreSQL would otherwise lock them in whatever order its plan meets them, and two writers
        meeting the same rows in different orders deadlock. SQLite has one writer at a time and no row
        locks: nothing to do.

        Rows to be changed take ``FOR NO KEY UPDATE``, the lock an UPDATE of non-key columns takes anyway:
        it lets other transactions insert rows that reference them (a conversation into a workspace being
        touched) without waiting. Only rows ``to_delete`` need the full ``FOR UPDATE``.
        """
        if not self._on_postgresql:
            return
        locking = select(table.c.id).where(where).order_by(table.c.id)
        await self._session.execute(locking.with_for_update(key_share=not to_delete))
