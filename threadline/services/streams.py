"""Opening event streams (API.md §6): who may follow what, and where a resumed stream picks up.

A stream subscribes to the hub first and only then reads the database to authorise and scope itself:
a membership change committed in between is then either in that read or heard live, never lost.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork
from threadline.events.hub import StreamHub
from threadline.events.subscription import StreamKind, Subscription
from threadline.models.domain.event import Event
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import require_conversation_role, require_workspace_role

REPLAY_BATCH = 500
_EVENT_ID = re.compile(r"[0-9]{1,19}")
"""Event ids are positive 64-bit integers, written in decimal."""


@dataclass(frozen=True)
class ReplayScope:
    """Which stored events a stream replays: a conversation's, or some workspaces' plus a user's own."""

    conversation_id: UUID | None = None
    workspace_ids: frozenset[UUID] = field(default_factory=frozenset)
    subject_user_id: UUID | None = None


@dataclass(frozen=True)
class OpenedStream:
    """An authorised stream: it replays ``(resume_after, replay_through]``, then follows its subscription."""

    subscription: Subscription
    scope: ReplayScope
    resume_after: int
    """The last event id the client has: the ``ready`` event's ``last_event_id``."""
    replay_through: int
    """Events up to here come from the log; later ones arrive live."""
    reset_reason: str | None
    """Why the client's ``Last-Event-ID`` cannot be resumed from (it should reload over REST), if so."""


_Authorize = Callable[[UnitOfWork], Awaitable[tuple[set[UUID], ReplayScope]]]


class StreamService:
    """Opens event streams: authorises each, ties it to the hub, and replays what a resumed client missed."""

    def __init__(self, uow: UnitOfWork, hub: StreamHub) -> None:
        self._uow = uow
        self._hub = hub

    async def open_user_stream(self, *, actor: Actor, resume_from: str | None) -> OpenedStream:
        """Every workspace the caller belongs to, and the caller's own membership changes anywhere."""

        async def authorize(uow: UnitOfWork) -> tuple[set[UUID], ReplayScope]:
            workspace_ids = await uow.access.workspace_ids_for_user(actor.user_id)
            return workspace_ids, ReplayScope(
                workspace_ids=frozenset(workspace_ids), subject_user_id=actor.user_id
            )

        return await self._open(actor, StreamKind.USER, None, resume_from, authorize)

    async def open_workspace_stream(
        self, *, actor: Actor, workspace_id: UUID, resume_from: str | None
    ) -> OpenedStream:
        """One workspace's events, for its members."""

        async def authorize(uow: UnitOfWork) -> tuple[set[UUID], ReplayScope]:
            await require_workspace_role(uow, actor, workspace_id, Role.VIEWER)
            return {workspace_id}, ReplayScope(workspace_ids=frozenset({workspace_id}))

        return await self._open(actor, StreamKind.WORKSPACE, workspace_id, resume_from, authorize)

    async def open_conversation_stream(
        self, *, actor: Actor, conversation_id: UUID, resume_from: str | None
    ) -> OpenedStream:
        """One conversation's events, for the members of its workspace."""

        async def authorize(uow: UnitOfWork) -> tuple[set[UUID], ReplayScope]:
            workspace_id, _ = await require_conversation_role(uow, actor, conversation_id, Role.VIEWER)
            return {workspace_id}, ReplayScope(conversation_id=conversation_id)

        return await self._open(actor, StreamKind.CONVERSATION, conversation_id, resume_from, authorize)

    async def replay(self, stream: OpenedStream, *, after: int) -> list[Event]:
        """The next batch of the stream's stored events after ``after``; ``[]`` once replay is done."""
        scope = stream.scope
        async with self._uow as uow:
            events = await uow.events.replay(
                after,
                limit=REPLAY_BATCH,
                conversation_id=scope.conversation_id,
                workspace_ids=scope.workspace_ids,
                subject_user_id=scope.subject_user_id,
            )
        return [event for event in events if event.id <= stream.replay_through]

    def close(self, stream: OpenedStream) -> None:
        self._hub.unsubscribe(stream.subscription)

    async def _open(
        self,
        actor: Actor,
        kind: StreamKind,
        topic_id: UUID | None,
        resume_from: str | None,
        authorize: _Authorize,
    ) -> OpenedStream:
        subscription = self._hub.subscribe(kind, user_id=actor.user_id, topic_id=topic_id)
        try:
            async with self._uow as uow:
                workspace_ids, scope = await authorize(uow)
                oldest, newest = await uow.events.bounds()
            live_after = self._hub.activate(subscription, workspace_ids)
        except BaseException:
            self._hub.unsubscribe(subscription)
            raise
        if scope.subject_user_id is not None:
            # A membership heard live between the read and activation joins the replay too.
            scope = dataclasses.replace(scope, workspace_ids=frozenset(subscription.workspace_ids))
        resume_after, reset_reason = resume_point(
            resume_from, oldest=oldest, newest=newest, live_after=live_after
        )
        return OpenedStream(
            subscription=subscription,
            scope=scope,
            resume_after=resume_after,
            replay_through=live_after,
            reset_reason=reset_reason,
        )


def resume_point(
    resume_from: str | None, *, oldest: int | None, newest: int | None, live_after: int
) -> tuple[int, str | None]:
    """Where a stream resumes, and why it cannot resume where the client asked (``reset``), if so.

    A stream that does not resume starts at the newest event committed when it opened: the hub's cursor
    (``live_after``) can lag the log by the events it has yet to read, and those happened before the
    client connected. ``live_after`` also bounds the newest id from below, so an id from before a pruning
    that emptied the log is still recognised as known.
    """
    start = max(newest or 0, live_after)
    if resume_from is None:
        return start, None
    if not _EVENT_ID.fullmatch(resume_from):
        return start, "Last-Event-ID is not an event id"
    requested = int(resume_from)
    if requested > start:
        return start, "Last-Event-ID is newer than the newest event (from another database?)"
    first_kept = oldest if oldest is not None else start + 1
    if requested < first_kept - 1:
        return start, "Last-Event-ID is older than the oldest event kept"
    return requested, None
