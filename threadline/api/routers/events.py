"""The event streams and their statistics (API.md §6); the wire format is in ``threadline/api/sse.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from threadline.api.dependencies import CurrentActor, ResourcesDep, StreamActor, StreamServiceDep
from threadline.api.path_parameters import ConversationId, WorkspaceId
from threadline.api.resources import Resources
from threadline.api.sse import EVENT_STREAM, EventStreamResponse
from threadline.models.api.response.events import StreamCountsResponse, StreamStatsResponse
from threadline.services.streams import OpenedStream, StreamService

router = APIRouter(prefix="/v1", tags=["events"])

_STREAM_DESCRIPTION = (
    "A `text/event-stream`: `retry`, then `ready` with `last_event_id`, then one SSE event per change "
    "(`id`, `event` = its type, `data` = the event as JSON), `: ping` comments while idle, "
    "`reset` when `Last-Event-ID` cannot be resumed from, and `revoked` before the stream ends because "
    "the caller lost access. See docs/events.md and docs/asyncapi.yaml."
)
_STREAM_ROUTE: dict[str, Any] = {
    "status_code": 200,
    "response_class": EventStreamResponse,
    "responses": {
        200: {"description": _STREAM_DESCRIPTION, "content": {EVENT_STREAM: {"schema": {"type": "string"}}}}
    },
}


async def get_resume_from(
    header: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this event id (sent by EventSource)."),
    ] = None,
    query: Annotated[
        str | None, Query(alias="last_event_id", description="Resume after this event id.")
    ] = None,
) -> str | None:
    """Where the client asks to resume; left as text, since a malformed id answers ``reset``, not 422."""
    return header if header is not None else query


ResumeFrom = Annotated[str | None, Depends(get_resume_from)]


def _respond(stream: OpenedStream, streams: StreamService, resources: Resources) -> EventStreamResponse:
    return EventStreamResponse(
        stream,
        streams,
        retry_ms=resources.settings.sse_retry_ms,
        heartbeat_seconds=resources.settings.sse_heartbeat_seconds,
        metrics=resources.metrics,
    )


@router.get("/events", summary="Follow every change you may see", **_STREAM_ROUTE)
async def stream_events(
    actor: StreamActor, streams: StreamServiceDep, resume_from: ResumeFrom, resources: ResourcesDep
) -> EventStreamResponse:
    """Every event of every workspace the caller is a member of, and the caller's own membership changes."""
    stream = await streams.open_user_stream(actor=actor, resume_from=resume_from)
    return _respond(stream, streams, resources)


@router.get("/workspaces/{workspace_id}/events", summary="Follow a workspace", **_STREAM_ROUTE)
async def stream_workspace_events(
    workspace_id: WorkspaceId,
    actor: StreamActor,
    streams: StreamServiceDep,
    resume_from: ResumeFrom,
    resources: ResourcesDep,
) -> EventStreamResponse:
    """The events of one workspace (members only); ends with `revoked` when the caller loses access."""
    stream = await streams.open_workspace_stream(
        actor=actor, workspace_id=workspace_id, resume_from=resume_from
    )
    return _respond(stream, streams, resources)


@router.get("/conversations/{conversation_id}/events", summary="Follow a conversation", **_STREAM_ROUTE)
async def stream_conversation_events(
    conversation_id: ConversationId,
    actor: StreamActor,
    streams: StreamServiceDep,
    resume_from: ResumeFrom,
    resources: ResourcesDep,
) -> EventStreamResponse:
    """The events of one conversation (members of its workspace only); ends with `revoked` when it is
    deleted or the caller loses access."""
    stream = await streams.open_conversation_stream(
        actor=actor, conversation_id=conversation_id, resume_from=resume_from
    )
    return _respond(stream, streams, resources)


@router.get("/events/stats", summary="Event stream statistics of this process")
async def get_event_stats(actor: CurrentActor, resources: ResourcesDep) -> StreamStatsResponse:
    """Open streams by kind and events fanned out, for the one server process that answers."""
    stats = resources.hub.stats()
    return StreamStatsResponse(
        connections=sum(stats.streams.values()),
        streams=StreamCountsResponse(**stats.streams),
        events_published=stats.events_published,
        instance=stats.instance,
    )
