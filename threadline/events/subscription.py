"""One event stream's place in the hub: what it may see, and the bounded queue between the hub and it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from threadline.models.domain.event import Event

_T = TypeVar("_T")

_UNTIL_ACTIVATED = 2**63 - 1
"""Above every event id: until activated, a subscription queues no frame."""


class StreamKind(StrEnum):
    USER = "user"
    WORKSPACE = "workspace"
    CONVERSATION = "conversation"


class Frame(NamedTuple):
    """One event as it goes on the wire, encoded once for every stream that receives it."""

    event_id: int
    data: bytes


class Subscription:
    """The hub fills it (``offer``, ``end``, ``abort``); the stream drains it (``next_frames``).

    The queue is bounded: a stream that falls ``capacity`` frames behind is aborted rather than allowed to
    slow the hub or grow without limit; its client catches up by reconnecting with its last event id.
    """

    __slots__ = (
        "_capacity",
        "_frames",
        "_replayed_through",
        "_waiter",
        "_write_cancelled",
        "_writer",
        "abort_reason",
        "api_key_id",
        "as_of",
        "end_reason",
        "kind",
        "pending_access",
        "sign_in_id",
        "topic_id",
        "user_id",
        "workspace_ids",
    )

    def __init__(
        self,
        kind: StreamKind,
        *,
        user_id: UUID,
        topic_id: UUID | None,
        capacity: int,
        api_key_id: UUID | None = None,
        sign_in_id: UUID | None = None,
    ) -> None:
        self.kind = kind
        self.user_id = user_id
        self.api_key_id = api_key_id
        """The API key the stream was opened with, if any: the stream ends once it stops working."""
        self.sign_in_id = sign_in_id
        """The sign-in of the token the stream was opened with, if any: the stream ends with it."""
        self.topic_id = topic_id
        """The workspace or conversation the stream follows; ``None`` for a user's own stream."""
        self.workspace_ids: set[UUID] = {topic_id} if kind is StreamKind.WORKSPACE and topic_id else set()
        """The workspaces whose access this stream depends on (for a user's stream: all it hears)."""
        self.pending_access: dict[UUID, Event] | None = {}
        """Until authorisation completes: per workspace, the latest event the hub has seen meanwhile that
        changes this user's access to it (their ``member.added`` or ``member.removed``, or its deletion,
        which no later change replaces)."""
        self.as_of = 0
        """The log position the authorisation read reflects: access changes up to it are already in it."""
        self.end_reason: str | None = None
        self.abort_reason: str | None = None
        self._capacity = capacity
        self._frames: list[Frame] = []
        self._replayed_through = _UNTIL_ACTIVATED
        """Frames up to this id are the replay's to send (``skip_through``), not the queue's."""
        self._waiter: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[Any] | None = None
        self._write_cancelled = False

    @property
    def closed(self) -> bool:
        return self.end_reason is not None or self.abort_reason is not None

    def skip_through(self, event_id: int) -> None:
        """The stream replays events up to ``event_id`` from the log: from now on only later frames queue.

        Until this is called (the stream is still being authorised), none does: the replay will cover
        whatever the hub offers meanwhile. So frames the stream would drop never fill its queue.
        """
        self._replayed_through = event_id

    def offer(self, frame: Frame) -> bool:
        """Queue ``frame``, unless the replay sends it; ``False`` (and the stream is aborted) when the queue
        is already full."""
        if frame.event_id <= self._replayed_through:
            return True
        if len(self._frames) >= self._capacity:
            self.abort("the stream fell too far behind")
            return False
        self._frames.append(frame)
        self._wake()
        return True

    def end(self, reason: str) -> None:
        """End the stream after the frames already queued (access was revoked)."""
        if self.end_reason is None:
            self.end_reason = reason
        self._wake()

    def abort(self, reason: str) -> None:
        """Stop the stream now, without what is queued; a send stalled on the client is cut short."""
        if self.abort_reason is None:
            self.abort_reason = reason
        self._wake()
        self._cancel_write()

    def nudge(self) -> None:
        """End a wait in ``next_frames`` even though nothing was queued (time for a heartbeat)."""
        self._wake()

    async def next_frames(self) -> list[Frame]:
        """The frames queued since the last call, after waiting for one unless nudged or closed first."""
        if not self._frames and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frames, self._frames = self._frames, []
        return frames

    async def unless_aborted(self, write: Callable[[_T], Awaitable[None]], item: _T) -> None:
        """``await write(item)`` (to a client that may have stopped reading); an abort abandons it.

        This is ``asyncio.timeout``'s cancel-and-absorb, without its cost on every write of every stream.
        """
        if self.abort_reason is not None:
            return
        task = self._writer = asyncio.current_task()
        try:
            await write(item)
        except asyncio.CancelledError:
            # Absorb the cancellation ``abort`` made, and only that one.
            if not self._write_cancelled or task is None or task.uncancel() > 0:
                raise
        finally:
            self._writer = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _cancel_write(self) -> None:
        if self._writer is not None and not self._write_cancelled:
            self._write_cancelled = True
            self._writer.cancel()
