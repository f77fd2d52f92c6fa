"""The event log: appended in the transaction of each change, read by the stream hub and by replays."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.database.models import EVENTS_TABLE, MESSAGES_TABLE, STREAMS_TABLE
from threadline.database.repositories.base import Repository
from threadline.database.types import as_dict
from threadline.models.domain.event import Event, EventLogRead, EventType, NewEvent

logger = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every writer of the log.
_EVENT_LOG_LOCK = 0x7468726561646C6E
_LOG = EVENTS_TABLE
_LOCK_LOG = select(func.pg_advisory_xact_lock(bindparam("key")))
# A Core INSERT on the table: it runs for every change, and the ORM's machinery would double its cost.
_INSERT = insert(_LOG).returning(_LOG.c.id, sort_by_parameter_order=True)
_NEWEST_ID = select(func.max(_LOG.c.id))
_OLDEST_ID = select(func.min(_LOG.c.id))
_NEWEST_IN_CONVERSATION = select(func.max(_LOG.c.id)).where(
    _LOG.c.conversation_id == bindparam("conversation_id")
)
_NEWEST_IN_WORKSPACE = select(func.max(_LOG.c.id)).where(_LOG.c.workspace_id == bindparam("workspace_id"))
_MEMBERSHIP_TYPES = (EventType.MEMBER_ADDED, EventType.MEMBER_REMOVED)
_UNKNOWN_TYPES_LOGGED: set[str] = set()

IdRange = tuple[int | None, int | None]
"""Event ids from the first to the last, both included; ``None`` leaves that side open."""


def _row(event: NewEvent, now: datetime) -> dict[str, Any]:
    return {
        "type": event.type,
        "workspace_id": event.workspace_id,
        "conversation_id": event.conversation_id,
        "actor_id": event.actor_id,
        "subject_user_id": event.subject_user_id,
        "payload": event.data,
        "created_at": now,
    }


def _in_ranges(workspaces: Mapping[UUID, Sequence[IdRange]]) -> ColumnElement[bool]:
    """Events of the workspaces, each within its ranges: one ``IN`` for those without bounds."""
    unbounded = [workspace_id for workspace_id, ranges in workspaces.items() if (None, None) in ranges]
    terms: list[ColumnElement[bool]] = [_LOG.c.workspace_id.in_(unbounded)] if unbounded else []
    for workspace_id, ranges in workspaces.items():
        if ranges and workspace_id not in unbounded:
            terms.append(and_(_LOG.c.workspace_id == workspace_id, or_(*map(_id_within, ranges))))
    return or_(false(), *terms)


def _id_within(bounds: IdRange) -> ColumnElement[bool]:
    first, last = bounds
    return and_(
        true() if first is None else _LOG.c.id >= first,
        true() if last is None else _LOG.c.id <= last,
    )


def to_event(row: Row[Any]) -> Event:
    return Event(
        id=row.id,
        type=EventType(row.type),
        workspace_id=row.workspace_id,
        conversation_id=row.conversation_id,
        actor_id=row.actor_id,
        subject_user_id=row.subject_user_id,
        data=as_dict(row.payload),
        created_at=row.created_at,
    )


@dataclass(frozen=True, slots=True)
class Appended:
    """The events a transaction appended: the last one's id, and how many of each type."""

    last_id: int
    types: Counter[EventType]


class EventRepository(Repository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # A unit of work builds its repositories afresh for each transaction, so these are per transaction.
        self._holds_log_lock = False
        self._last_appended_id: int | None = None
        self._appended_types: Counter[EventType] = Counter()

    async def append(self, event: NewEvent, *, now: datetime) -> Event:
        """Insert one event; see ``append_all``."""
        [appended] = await self.append_all([event], now=now)
        return appended

    async def append_all(self, events: Sequence[NewEvent], *, now: datetime) -> list[Event]:
        """Insert the events, several in one statement, under the log's lock on PostgreSQL (``_lock_log``);
        their ids ascend in the order given."""
        await self._lock_log()
        result = await self._session.execute(_INSERT, [_row(event, now) for event in events])
        appended = [
            Event(**event.model_dump(), id=event_id, created_at=now)
            for event, event_id in zip(events, result.scalars(), strict=True)
        ]
        if appended:
            self._last_appended_id = appended[-1].id
            self._appended_types.update(event.type for event in events)
        return appended

    def take_appended(self) -> Appended | None:
        """What was appended since the last call (``None``: nothing), for a commit to announce and count."""
        if self._last_appended_id is None:
            return None
        taken = Appended(last_id=self._last_appended_id, types=self._appended_types)
        self._last_appended_id, self._appended_types = None, Counter()
        return taken

    async def after(self, event_id: int, *, limit: int) -> EventLogRead:
        """Every event after ``event_id``, in id order: what the hub fans out."""
        return await self._read(_LOG.c.id > event_id, limit=limit)

    async def replay(
        self,
        after_id: int,
        *,
        limit: int,
        through: int | None = None,
        conversation_id: UUID | None = None,
        workspaces: Mapping[UUID, Sequence[IdRange]] | None = None,
        subject_user_id: UUID | None = None,
    ) -> EventLogRead:
        """Events after ``after_id`` (and up to ``through``) within one stream's scope, in id order.

        The scope is the events of a conversation, or of some workspaces, or of a conversation in them,
        each workspace's only within its id ranges; plus the membership events of ``subject_user_id``.
        """
        scope: list[ColumnElement[bool]] = []
        if conversation_id is not None:
            scope.append(_LOG.c.conversation_id == conversation_id)
        if workspaces is not None:
            scope.append(_in_ranges(workspaces))
        selected = [and_(*scope)] if scope else []
        if subject_user_id is not None:
            selected.append(_LOG.c.subject_user_id == subject_user_id)
        if not selected:
            return EventLogRead(events=[], last_id=None, exhausted=True)
        bounds = [_LOG.c.id > after_id] + ([] if through is None else [_LOG.c.id <= through])
        return await self._read(*bounds, or_(*selected), limit=limit)

    async def access_changes(
        self, user_id: UUID, *, after: int, through: int, workspace_ids: Collection[UUID]
    ) -> list[Event]:
        """What changed which workspaces the user could see over ``(after, through]``, in id order: their own
        ``member.added`` and ``member.removed`` there, and the ``workspace.deleted`` (up to ``through``) of
        ``workspace_ids`` and of the workspaces those changes name.

        A deletion may come before ``after``: deleting a workspace writes ``workspace.deleted`` and then
        each member's ``member.removed``, and a client can resume between the two. The parts are a
        ``UNION ALL``, not an ``OR``, so that each reads its own index instead of the whole window.
        """
        own = (_LOG.c.subject_user_id == user_id, _LOG.c.id > after, _LOG.c.id <= through)
        named = select(_LOG.c.workspace_id).where(*own, _LOG.c.type.in_(_MEMBERSHIP_TYPES))
        deleted = (_LOG.c.type == EventType.WORKSPACE_DELETED, _LOG.c.id <= through)
        changes = union_all(
            select(_LOG).where(*own, _LOG.c.type.in_(_MEMBERSHIP_TYPES)),
            select(_LOG).where(_LOG.c.workspace_id.in_(named), *deleted),
            select(_LOG).where(_LOG.c.workspace_id.in_(list(workspace_ids)), *deleted),
        ).subquery()
        found = self._decode(await self._session.execute(select(changes).order_by(changes.c.id)))
        # A deletion of a workspace both named and given comes twice.
        return list({event.id: event for event in found}.values())

    async def bounds(self) -> tuple[int | None, int | None]:
        """The oldest and newest ids still in the log.

        Two subqueries, not ``min(id), max(id)`` in one: SQLite answers a lone ``min`` or ``max`` from the
        primary key's end, but scans the whole log for the pair.
        """
        result = await self._session.execute(
            select(_OLDEST_ID.scalar_subquery(), _NEWEST_ID.scalar_subquery())
        )
        oldest, newest = result.one()
        return oldest, newest

    async def oldest_id(self) -> int | None:
        """The oldest id still in the log, read from the primary key's end."""
        oldest: int | None = await self._session.scalar(_OLDEST_ID)
        return oldest

    async def newest_id(self) -> int | None:
        """The newest id in the log, read from the primary key's end."""
        newest: int | None = await self._session.scalar(_NEWEST_ID)
        return newest

    async def newest_in_conversation(self, conversation_id: UUID) -> int:
        """The newest event about the conversation, 0 if none: what a read of it is versioned by."""
        newest: int | None = await self._session.scalar(
            _NEWEST_IN_CONVERSATION, {"conversation_id": conversation_id}
        )
        return newest or 0

    async def newest_in_workspace(self, workspace_id: UUID) -> int:
        """The newest event about the workspace or anything in it, 0 if none: what a list is versioned by."""
        newest: int | None = await self._session.scalar(_NEWEST_IN_WORKSPACE, {"workspace_id": workspace_id})
        return newest or 0

    async def prune(self, *, older_than: datetime, limit: int) -> int:
        """Delete up to ``limit`` of the oldest events created before ``older_than``; returns how many.

        Only a prefix of the log goes, up to the first event that is younger: ``created_at`` is taken
        before the log's lock and can run a little against id order, and a hole inside the log would be
        skipped unseen by a resuming stream, which only compares its position with the oldest id kept.
        """
        oldest = await self._session.execute(
            select(_LOG.c.id, _LOG.c.created_at).order_by(_LOG.c.id).limit(limit)
        )
        expired = [event_id for event_id, _ in takewhile(lambda row: row[1] < older_than, oldest)]
        if not expired:
            return 0
        await self._session.execute(delete(_LOG).where(_LOG.c.id <= expired[-1]))
        return len(expired)

    async def prune_deltas(self, *, older_than: datetime, limit: int) -> int:
        """Delete up to ``limit`` ``message.delta`` events created before ``older_than`` in conversations
        with no reply streaming; returns how many.

        These holes in the log are harmless: each reply's final ``message.updated``, later in the log and
        kept, carries its whole text.
        """
        streaming = select(MESSAGES_TABLE.c.conversation_id).join(
            STREAMS_TABLE, STREAMS_TABLE.c.message_id == MESSAGES_TABLE.c.id
        )
        expired = (
            select(_LOG.c.id)
            .where(
                _LOG.c.type == EventType.MESSAGE_DELTA,
                _LOG.c.created_at < older_than,
                _LOG.c.conversation_id.not_in(streaming),
            )
            .order_by(_LOG.c.id)
            .limit(limit)
        )
        ids = list(await self._session.scalars(expired))
        if ids:
            await self._session.execute(delete(_LOG).where(_LOG.c.id.in_(ids)))
        return len(ids)

    async def _lock_log(self) -> None:
        """On PostgreSQL, take the log's transaction-scoped lock before the first event is inserted.

        Readers fetch "every id after my cursor", which is only safe if ids become visible in id order.
        Holding the lock from the id's allocation until commit makes event-writing transactions commit
        one after another. SQLite needs nothing: it has a single writer.
        """
        if not self._holds_log_lock and self._on_postgresql:
            await self._session.execute(_LOCK_LOG, {"key": _EVENT_LOG_LOCK})
            self._holds_log_lock = True

    async def _read(self, *conditions: ColumnElement[bool], limit: int) -> EventLogRead:
        """Plain table rows, not ORM entities: the hub runs this after every ring."""
        result = await self._session.execute(select(_LOG).where(*conditions).order_by(_LOG.c.id).limit(limit))
        rows = result.all()
        return EventLogRead(
            events=self._decode(rows), last_id=rows[-1].id if rows else None, exhausted=len(rows) < limit
        )

    @staticmethod
    def _decode(rows: Iterable[Row[Any]]) -> list[Event]:
        """The rows as events, leaving out those of a type this version does not know (written by a newer
        one, mid-upgrade): they must not stall the rest. Each such type is logged once per process."""
        events = []
        for row in rows:
            try:
                events.append(to_event(row))
            except ValueError:
                if row.type not in _UNKNOWN_TYPES_LOGGED:
                    _UNKNOWN_TYPES_LOGGED.add(row.type)
                    logger.warning(
                        "passing over events of type %r, which this version does not know", row.type
                    )
        return events
