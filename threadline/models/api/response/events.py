"""Bodies of the event streams: the ``data`` of each event, and the stream statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from threadline.models.api.response.base import ResponseModel
from threadline.models.domain.event import EventType


class EventResponse(ResponseModel):
    """One change, as the `data` of its Server-Sent Event; `id` is also the event's SSE `id`."""

    id: int = Field(description="Increases strictly in the order clients must apply events.")
    type: EventType
    created_at: datetime
    workspace_id: UUID
    conversation_id: UUID | None = Field(description="Null for workspace and member events.")
    actor_id: UUID | None = Field(description="Who made the change.")
    data: dict[str, Any] = Field(
        description="The Workspace, Member, Conversation or Message as it is after the change."
    )


class StreamCountsResponse(ResponseModel):
    """Open streams by kind: `/v1/events`, a workspace's and a conversation's."""

    user: int
    """Open `/v1/events` streams."""
    workspace: int
    """Open workspace streams."""
    conversation: int
    """Open conversation streams."""


class StreamStatsResponse(ResponseModel):
    """The event streams of the one server process that answered."""

    connections: int = Field(description="Event streams open in this process.")
    streams: StreamCountsResponse
    """The open streams, by kind."""
    events_published: int = Field(description="Events this process has fanned out since it started.")
    instance: str = Field(description="Identifies the process; it changes when the process restarts.")
