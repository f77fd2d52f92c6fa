"""Conversations, including the per-conversation ``seq`` counter."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Row, Select, bindparam, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from threadline.database.models import CONVERSATIONS_TABLE, EVENTS_TABLE
from threadline.database.pagination import after_cursor
from threadline.database.repositories.base import Repository
from threadline.database.types import UTCDateTime, given
from threadline.errors import NotFound
from threadline.models.domain.conversation import CONVERSATION_LIST, Conversation
from threadline.models.domain.event import EventType
from threadline.models.domain.pagination import SNAPSHOT_LIFETIME, Cursor, Page, Snapshot

IDLE_PERIOD = 2 * SNAPSHOT_LIFETIME
"""A change that finds a conversation idle for this long records where it was (``idle_from``).

Longer than a walk may last, so no walk sees a conversation wake twice; and as long as the event
retention exceeds it by a walk's lifetime, the log still holds the activity of every conversation that
was active more recently when a walk began (see ``list_for_workspace``)."""


def to_conversation(row: Row[Any] | Mapping[str, Any]) -> Conversation:
    """The one mapping to ``Conversation``: from a row of the table, or the values just written (the
    columns are named as the fields are)."""
    return Conversation.model_validate(row)


_NOW = bindparam("now", type_=UTCDateTime())
_CONVERSATIONS = CONVERSATIONS_TABLE.c
#: ``last_active_at`` at ``:now``: it moves forward only, even when a slower transaction commits after a
#: faster one.
_LATER = case((_CONVERSATIONS.last_active_at < _NOW, _NOW), else_=_CONVERSATIONS.last_active_at)
_IDLE_BEFORE = bindparam("idle_before", type_=UTCDateTime())
#: ``idle_from`` after a change: the activity it found, if that was an ``IDLE_PERIOD`` old.
_WOKEN = case(
    (_CONVERSATIONS.last_active_at < _IDLE_BEFORE, _CONVERSATIONS.last_active_at),
    else_=_CONVERSATIONS.idle_from,
)
_EVENTS = EVENTS_TABLE.c
_IDS_PER_QUERY = 1000
"""Ids in one ``IN`` list, well within any database's limit on a statement's parameters."""


def _activity_at(now: datetime) -> dict[str, datetime]:
    """The parameters of ``_LATER`` and ``_WOKEN``: every change that moves ``last_active_at`` sets both."""
    return {"now": now, "idle_before": now - IDLE_PERIOD}


_Placed = tuple[Row[Any], datetime]
"""A conversation and the activity it is listed by in a walk."""


def _page(rows: list[_Placed], *, limit: int, snapshot: Snapshot) -> Page[Conversation]:
    """The first ``limit`` of ``rows``, with a cursor to the rest (if any) that carries the snapshot."""
    next_cursor = None
    if len(rows) > limit:
        last, at = rows[limit - 1]
        next_cursor = Cursor(
            at=at, id=last.id, of=CONVERSATION_LIST, as_of=snapshot.event_id, taken=snapshot.taken
        ).encode()
    return Page[Conversation](
        items=[to_conversation(row) for row, _ in rows[:limit]], next_cursor=next_cursor
    )


class ConversationRepository(Repository):
    async def add(
        self, *, workspace_id: UUID, title: str, modality: str, metadata: dict[str, Any], now: datetime
    ) -> Conversation:
        row = {
            "id": uuid4(),
            "workspace_id": workspace_id,
            "title": title,
            "modality": modality,
            "metadata": metadata,
            "message_count": 0,
            "last_seq": 0,
            "created_at": now,
            "updated_at": now,
            "last_active_at": now,
            "idle_from": None,
        }
        try:
            await self._session.execute(insert(CONVERSATIONS_TABLE), row)
        except IntegrityError:
            # The workspace was deleted after the caller's access was checked.
            raise NotFound("Workspace not found") from None
        return to_conversation(row)

    async def get(self, conversation_id: UUID) -> Conversation | None:
        result = await self._session.execute(
            select(CONVERSATIONS_TABLE).where(_CONVERSATIONS.id == conversation_id)
        )
        row = result.first()
        return to_conversation(row) if row else None

    async def list_for_workspace(
        self,
        workspace_id: UUID,
        *,
        modality: str | None,
        limit: int,
        cursor: Cursor | None,
        snapshot: Snapshot | None,
        now: datetime,
    ) -> Page[Conversation]:
        """One page of the workspace's conversations by their activity as of the walk's ``snapshot``, most
        recent first, so that a walk lists once each conversation that existed throughout it, however many
        become active meanwhile. The first page (no ``cursor``) takes the snapshot, at ``now``. How a
        conversation active since the snapshot is placed, and why one index scan still reads most of a page:
        docs/api-decisions.md, "Conversations and messages".
        """
        of_modality = select(CONVERSATIONS_TABLE)
        if modality is not None:
            of_modality = of_modality.where(_CONVERSATIONS.modality == modality)
        if cursor is None or snapshot is None:  # the first page: nothing has moved since its snapshot
            rows, snapshot = await self._first_page(of_modality, workspace_id, limit=limit, now=now)
        else:
            cursor.require_list(CONVERSATION_LIST)
            rows = await self._later_page(
                of_modality, workspace_id, limit=limit, cursor=cursor, snapshot=snapshot
            )
        return _page(rows, limit=limit, snapshot=snapshot)

    async def _first_page(
        self, of_modality: Select[Any], workspace_id: UUID, *, limit: int, now: datetime
    ) -> tuple[list[_Placed], Snapshot]:
        """The newest conversations, and the snapshot of the walk: the newest event id, read in the same
        statement as the rows."""
        newest_event = select(func.max(_EVENTS.id)).scalar_subquery()
        page = of_modality.where(_CONVERSATIONS.workspace_id == workspace_id)
        found = (
            await self._session.execute(self._in_order(page, limit=limit + 1).add_columns(newest_event))
        ).all()
        snapshot = Snapshot(event_id=(found[0]._mapping[newest_event] or 0) if found else 0, taken=now)
        return [(row, row.last_active_at) for row in found], snapshot

    async def _later_page(
        self,
        of_modality: Select[Any],
        workspace_id: UUID,
        *,
        limit: int,
        cursor: Cursor,
        snapshot: Snapshot,
    ) -> list[_Placed]:
        """The conversations after ``cursor``: those unmoved since the snapshot by one index scan, then
        those active since, each at its activity as of the snapshot."""
        since = (_EVENTS.workspace_id == workspace_id) & (_EVENTS.id > snapshot.event_id)
        active = select(_EVENTS.conversation_id).where(
            since, _EVENTS.conversation_id.is_not(None), _EVENTS.type != EventType.MESSAGE_DELTA
        )
        unmoved = of_modality.where(
            _CONVERSATIONS.workspace_id == workspace_id,
            after_cursor(_CONVERSATIONS.last_active_at, _CONVERSATIONS.id, cursor),
            _CONVERSATIONS.id.not_in(active),
        )
        rows = [
            (row, row.last_active_at)
            for row in await self._session.execute(self._in_order(unmoved, limit=limit + 1))
        ]
        # Read after the others: one that became active in between is in both, at the same place.
        # The ids are the workspace's already (its events name them): read by primary key alone.
        moved = await self._activity_as_of(of_modality, await self._moved(active), snapshot)
        listed = {row.id for row, _ in rows}
        rows += [
            (row, at) for row, at in moved if (at, row.id) < (cursor.at, cursor.id) and row.id not in listed
        ]
        rows.sort(key=lambda placed: (placed[1], placed[0].id), reverse=True)
        return rows

    @staticmethod
    def _in_order(query: Select[Any], *, limit: int) -> Select[Any]:
        return query.order_by(_CONVERSATIONS.last_active_at.desc(), _CONVERSATIONS.id.desc()).limit(limit)

    async def _moved(self, active: Select[UUID | None]) -> list[UUID]:
        """The conversations with events in ``active`` (after a snapshot), but not created after it."""
        created = func.max(case((_EVENTS.type == EventType.CONVERSATION_CREATED, 1), else_=0))
        found = await self._session.scalars(active.group_by(_EVENTS.conversation_id).having(created == 0))
        return [conversation_id for conversation_id in found if conversation_id is not None]

    async def _activity_as_of(self, query: Select[Any], ids: list[UUID], snapshot: Snapshot) -> list[_Placed]:
        """The conversations of ``query`` among ``ids``, each with its ``last_active_at`` as of ``snapshot``.

        Read by their primary key, a thousand at a time: a planner that reads the ids from a subquery may
        scan the workspace's conversations instead.
        """
        logged = (
            select(_EVENTS.created_at)
            .where(
                _EVENTS.conversation_id == _CONVERSATIONS.id,
                _EVENTS.id <= snapshot.event_id,
                _EVENTS.type != EventType.MESSAGE_DELTA,
            )
            .order_by(_EVENTS.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        activity: list[_Placed] = []
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            found = await self._session.execute(query.where(_CONVERSATIONS.id.in_(chunk)).add_columns(logged))
            activity += [(row, row._mapping[logged] or row.idle_from or row.created_at) for row in found]
        return activity

    async def update(
        self,
        conversation_id: UUID,
        *,
        now: datetime,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Conversation | None:
        """Apply the ``title`` and ``metadata`` given; ``None`` if the conversation is gone."""
        values = {
            **given(title=title, metadata=metadata),
            "updated_at": now,
            "last_active_at": _LATER,
            "idle_from": _WOKEN,
        }
        result = await self._session.execute(
            update(CONVERSATIONS_TABLE)
            .where(_CONVERSATIONS.id == conversation_id)
            .values(values)
            .returning(CONVERSATIONS_TABLE),
            _activity_at(now),
        )
        row = result.first()
        return to_conversation(row) if row else None

    async def lock_for_writing(self, ids: Collection[UUID]) -> None:
        """Lock the conversations about to be written, in id order, until commit.

        Every writer of a conversation or its messages takes this lock first (posts before
        ``reserve_seqs``), so later writers wait here and read the clock after it: posts get ``seq`` 1, 2,
        3, ... in commit order, and ``created_at`` and ``updated_at`` follow that order too, even for a
        writer that waited for another's lock (in another process, perhaps).
        """
        await self._lock_rows_in_id_order(CONVERSATIONS_TABLE, _CONVERSATIONS.id.in_(ids))

    async def try_lock_for_writing(self, ids: Collection[UUID]) -> set[UUID]:
        """``lock_for_writing`` without waiting: the conversations now locked, leaving out those another
        transaction holds (and those that are gone). On SQLite, which has no row locks, all of them."""
        if not ids or not self._on_postgresql:
            return set(ids)
        locking = (
            select(_CONVERSATIONS.id)
            .where(_CONVERSATIONS.id.in_(ids))
            .order_by(_CONVERSATIONS.id)
            .with_for_update(key_share=True, skip_locked=True)
        )
        return set(await self._session.scalars(locking))

    async def reserve_seqs(self, counts: Mapping[UUID, int], *, now: datetime) -> dict[UUID, range]:
        """Hand out the next ``counts[id]`` values of ``seq`` of each conversation and count its new messages.

        Call it with the conversations locked (``lock_for_writing``): a writer meeting several rows in plan
        order would deadlock with one that meets them in id order. One UPDATE moves every counter, and costs
        the same however long the conversations are. A conversation that is gone is left out.
        """
        if not counts:
            return {}
        ids = list(counts)
        added = case(*((_CONVERSATIONS.id == id_, count) for id_, count in counts.items()))
        reserved = await self._session.execute(
            update(CONVERSATIONS_TABLE)
            .where(_CONVERSATIONS.id.in_(ids))
            .values(
                last_seq=_CONVERSATIONS.last_seq + added,
                message_count=_CONVERSATIONS.message_count + added,
                last_active_at=_LATER,
                idle_from=_WOKEN,
            )
            .returning(_CONVERSATIONS.id, _CONVERSATIONS.last_seq),
            _activity_at(now),
        )
        return {id_: range(last - counts[id_] + 1, last + 1) for id_, last in reserved}

    async def record_activity(self, conversation_id: UUID, *, now: datetime, count_delta: int = 0) -> bool:
        """A message is being edited (or removed, with ``count_delta=-1``): keep the summary columns right.

        Call it with the conversation locked (``lock_for_writing``), before the message is touched: message
        writers always lock the conversation first. ``False`` if the conversation is gone.
        """
        changed = await self._session.scalar(
            update(CONVERSATIONS_TABLE)
            .where(_CONVERSATIONS.id == conversation_id)
            .values(
                message_count=_CONVERSATIONS.message_count + count_delta,
                last_active_at=_LATER,
                idle_from=_WOKEN,
            )
            .returning(_CONVERSATIONS.id),
            _activity_at(now),
        )
        return changed is not None

    async def last_seq(self, conversation_id: UUID) -> int | None:
        """The highest ``seq`` the conversation ever handed out (0 before its first message); ``None`` if it
        is gone."""
        last: int | None = await self._session.scalar(
            select(_CONVERSATIONS.last_seq).where(_CONVERSATIONS.id == conversation_id)
        )
        return last

    async def delete(self, conversation_id: UUID) -> Conversation | None:
        """Delete the conversation with its messages; the conversation as it was, or ``None`` if gone."""
        deleting = delete(CONVERSATIONS_TABLE).where(_CONVERSATIONS.id == conversation_id)
        result = await self._session.execute(deleting.returning(CONVERSATIONS_TABLE))
        row = result.first()
        return to_conversation(row) if row else None
