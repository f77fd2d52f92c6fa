"""Opening event streams (API.md §6): who may follow what, and where a resumed stream picks up.

A stream subscribes to the hub first and only then reads the database to authorise and scope itself:
a membership change committed in between is then either in that read or heard live, never lost. That
read also takes the log's newest id, the position at which the memberships it found hold: the hub applies
only later access changes, and a resumed stream's replay derives from the log's membership events what
the user could see at each earlier point.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from threadline.database.repositories.events import IdRange
from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.events.hub import StreamHub
from threadline.events.subscription import StreamKind, Subscription
from threadline.models.domain.event import Event, EventLogRead, EventType
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import require_conversation_role, require_workspace_role

REPLAY_BATCH = 500
_EVENT_ID = re.compile(r"[0-9]{1,19}")
"""Event ids are positive 64-bit integers, written in decimal."""


class ReplayOutlived(Exception):
    """The log no longer holds what a stream had yet to replay: the client must resume anew, and then
    learns that it has to reload (``reset``)."""


_THROUGHOUT: tuple[IdRange, ...] = ((None, None),)
"""The membership period of a workspace whose membership did not change over the replay."""


@dataclass(frozen=True)
class ReplayScope:
    """Which stored events a stream replays: those of its workspaces (or of its conversation in them) from
    while the user was a member, and for a user's own stream their membership changes anywhere."""

    workspaces: Mapping[UUID, tuple[IdRange, ...]]
    conversation_id: UUID | None = None
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


_Authorize = Callable[[UnitOfWork], Awaitable[set[UUID]]]
"""Checks the caller may open the stream; returns the workspaces it is scoped to (raises if none)."""


class StreamService:
    """Opens event streams: authorises each, ties it to the hub, and replays what a resumed client missed."""

    def __init__(self, new_unit_of_work: UnitOfWorkFactory, hub: StreamHub) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._hub = hub

    async def open_user_stream(self, *, actor: Actor, resume_from: str | None) -> OpenedStream:
        """Every workspace the caller belongs to, and the caller's own membership changes anywhere."""

        async def authorize(uow: UnitOfWork) -> set[UUID]:
            return await uow.access.workspace_ids_for_user(actor.user_id)

        return await self._open(actor, StreamKind.USER, None, resume_from, authorize)

    async def open_workspace_stream(
        self, *, actor: Actor, workspace_id: UUID, resume_from: str | None
    ) -> OpenedStream:
        """One workspace's events, for its members."""

        async def authorize(uow: UnitOfWork) -> set[UUID]:
            await require_workspace_role(uow, actor, workspace_id, Role.VIEWER)
            return {workspace_id}

        return await self._open(actor, StreamKind.WORKSPACE, workspace_id, resume_from, authorize)

    async def open_conversation_stream(
        self, *, actor: Actor, conversation_id: UUID, resume_from: str | None
    ) -> OpenedStream:
        """One conversation's events, for the members of its workspace."""

        async def authorize(uow: UnitOfWork) -> set[UUID]:
            workspace_id, _ = await require_conversation_role(uow, actor, conversation_id, Role.VIEWER)
            return {workspace_id}

        return await self._open(actor, StreamKind.CONVERSATION, conversation_id, resume_from, authorize)

    async def replay(self, stream: OpenedStream, *, after: int) -> EventLogRead:
        """The next batch of the stream's stored events after ``after``, the client's place in it.

        Raises ``ReplayOutlived`` if events after ``after`` have been pruned since the stream opened: the
        replay would skip them unseen. (Checked after the read, in the same transaction: a prune that
        committed before the read shows in the check.)
        """
        scope = stream.scope
        async with self._new_unit_of_work() as uow:
            read = await uow.events.replay(
                after,
                limit=REPLAY_BATCH,
                through=stream.replay_through,
                conversation_id=scope.conversation_id,
                workspaces=scope.workspaces,
                subject_user_id=scope.subject_user_id,
            )
            oldest = await uow.events.oldest_id()
        if oldest is None or after < oldest - 1:
            raise ReplayOutlived("events this stream had yet to replay were pruned")
        return read

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
        subscription = self._hub.subscribe(
            kind, user_id=actor.user_id, topic_id=topic_id, **_credential(actor)
        )
        try:
            async with self._new_unit_of_work() as uow:
                # The memberships read hold at the log's newest id read with them (``as_of``): the hub
                # ignores older access changes, and the replay works back from there.
                await uow.use_one_snapshot()
                workspace_ids = await authorize(uow)
                oldest, newest = await uow.events.bounds()
            as_of = newest or 0
            replay_through = self._hub.activate(subscription, workspace_ids, as_of=as_of)
            resume_after, reset_reason = resume_point(
                resume_from, oldest=oldest, replay_through=replay_through
            )
            changes = []
            if resume_after < replay_through:
                changes = await self._access_changes(
                    actor, kind, workspace_ids, after=min(resume_after, as_of), through=replay_through
                )
        except BaseException:
            self._hub.unsubscribe(subscription)
            raise
        return OpenedStream(
            subscription=subscription,
            scope=_replay_scope(actor, kind, topic_id, membership_periods(workspace_ids, changes)),
            resume_after=resume_after,
            replay_through=replay_through,
            reset_reason=reset_reason,
        )

    async def _access_changes(
        self, actor: Actor, kind: StreamKind, workspace_ids: set[UUID], *, after: int, through: int
    ) -> list[Event]:
        """The changes of the caller's access over the replay, ``(after, through]``: from the resume point,
        or from the read if a client claims a later one (the memberships read hold only at ``as_of``)."""
        async with self._new_unit_of_work() as uow:
            changes = await uow.events.access_changes(
                actor.user_id, after=after, through=through, workspace_ids=workspace_ids
            )
        if kind is not StreamKind.USER:
            # A workspace or conversation stream replays its one workspace, whatever else changed.
            changes = [change for change in changes if change.workspace_id in workspace_ids]
        return changes


def _credential(actor: Actor) -> dict[str, UUID | None]:
    """What the hub ends a stream for when it is revoked: its API key or its sign-in."""
    return {"api_key_id": actor.api_key_id, "sign_in_id": actor.sign_in_id}


def _replay_scope(
    actor: Actor, kind: StreamKind, topic_id: UUID | None, periods: Mapping[UUID, tuple[IdRange, ...]]
) -> ReplayScope:
    return ReplayScope(
        workspaces=periods,
        conversation_id=topic_id if kind is StreamKind.CONVERSATION else None,
        subject_user_id=actor.user_id if kind is StreamKind.USER else None,
    )


def membership_periods(
    workspace_ids: Collection[UUID], changes: Sequence[Event]
) -> dict[UUID, tuple[IdRange, ...]]:
    """When the user was a member of each workspace over a replay, so that it sends what a live stream did.

    ``workspace_ids`` are the user's workspaces when the stream opened; ``changes`` the log's changes of the
    user's access over the replay, oldest first (``EventRepository.access_changes``). A workspace without
    changes keeps its membership throughout. The changes of a workspace tell the rest by themselves: each
    says what held before it. A user is a member at the events that add and remove them (a live stream
    hears both), and no longer once their workspace is deleted.
    """
    by_workspace: dict[UUID, list[Event]] = {}
    for change in changes:
        by_workspace.setdefault(change.workspace_id, []).append(change)
    periods = {
        workspace_id: _THROUGHOUT for workspace_id in workspace_ids if workspace_id not in by_workspace
    }
    for workspace_id, workspace_changes in by_workspace.items():
        if found := tuple(_periods(workspace_changes)):
            periods[workspace_id] = found
    return periods


def _periods(changes: Sequence[Event]) -> Iterator[IdRange]:
    """One workspace's membership periods, from its changes alone: each says what held before it."""
    member = changes[0].type is not EventType.MEMBER_ADDED
    since: int | None = None
    for change in changes:
        joins = change.type is EventType.MEMBER_ADDED
        if joins and not member:
            member, since = True, change.id
        elif member and not joins:
            member = False
            yield since, change.id
    if member:
        yield since, None


def resume_point(
    resume_from: str | None, *, oldest: int | None, replay_through: int
) -> tuple[int, str | None]:
    """Where a stream resumes, and why it cannot resume where the client asked (``reset``), if so.

    A stream that does not resume starts at ``replay_through``, the newest event committed when it opened
    (``StreamHub.activate``). That also bounds the newest id from below once a pruning emptied the log,
    so an id from before it is still recognised as known.
    """
    start = replay_through
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
