"""Keyset pagination over ``(at, id)`` descending, shared by every cursor-paged list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Column, ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from threadline.models.domain.pagination import Cursor, Page

T = TypeVar("T")
At = InstrumentedAttribute[datetime] | Column[datetime]
"""What a list is ordered by: an ORM attribute, or a column of a Core table."""
Id = InstrumentedAttribute[UUID] | Column[UUID]


def after_cursor(at: At, id_: Id, cursor: Cursor) -> ColumnElement[bool]:
    """The rows that come after ``cursor`` in ``(at, id)`` descending order."""
    return or_(at < cursor.at, and_(at == cursor.at, id_ < cursor.id))


async def keyset_page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    *,
    list_name: str,
    at: At,
    id_: Id,
    limit: int,
    cursor: Cursor | None,
    to_domain: Callable[[Any], T],
) -> Page[T]:
    """One page of ``query`` newest first, after ``cursor``; fetches one extra row to know if more exist.

    ``at`` and ``id_`` are attributes of the query's first entity, or columns of a Core query: the cursor
    is read from that entity, or from the row itself. ``to_domain`` receives each result row as the query
    returns it (an entity, or a tuple for joins and Core queries).
    Cursors carry ``list_name``, so that one list's cursor is refused by another.
    """
    if cursor is not None:
        cursor.require_list(list_name)
        query = query.where(after_cursor(at, id_, cursor))
    result = await session.execute(query.order_by(at.desc(), id_.desc()).limit(limit + 1))
    rows = list(result.all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = [to_domain(row[0] if len(row) == 1 else row) for row in rows]
    next_cursor = None
    if has_more:
        last = rows[-1]
        entity = last[0] if isinstance(at, InstrumentedAttribute) else last
        next_cursor = Cursor(at=getattr(entity, at.key), id=getattr(entity, id_.key), of=list_name).encode()
    return Page[T](items=items, next_cursor=next_cursor)
