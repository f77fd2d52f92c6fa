"""Events: the durable record of every change, replayed and streamed to clients."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

from threadline.models.domain.base import DomainModel


class EventType(StrEnum):
    WORKSPACE_UPDATED = "workspace.updated"
    WORKSPACE_DELETED = "workspace.deleted"
    MEMBER_ADDED = "member.added"
    MEMBER_UPDATED = "member.updated"
    MEMBER_REMOVED = "member.removed"
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    CONVERSATION_DELETED = "conversation.deleted"
    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"
    MESSAGE_DELETED = "message.deleted"
    MESSAGE_DELTA = "message.delta"


class NewEvent(DomainModel):
    """An event about to be appended to the log, in the transaction of its change."""

    type: EventType
    workspace_id: UUID
    conversation_id: UUID | None = None
    actor_id: UUID | None
    subject_user_id: UUID | None = None
    """For membership events: whose access changed, so their own streams hear of it."""
    data: dict[str, Any]


class Event(NewEvent):
    """An event as stored: ``id`` is its place in the one global order clients apply."""

    id: int
    created_at: datetime


class EventLogRead(NamedTuple):
    """One read of the event log: the events this version can decode, and how far the read went.

    A process reads past rows it cannot decode (a type written by a newer version, mid-upgrade), so a
    reader moves on to ``last_id``, not to its last event, and is done only once ``exhausted``.
    """

    events: list[Event]
    last_id: int | None
    """The id of the last row read, decoded or not; ``None`` when the read found no row."""
    exhausted: bool
    """Fewer rows than the limit: nothing more to read for now."""
