"""The per-process stream hub: follows the event log and fans each new event out to the open streams.

The log is the truth and the bus only a doorbell: on a ring, or when the poll timer runs out (so a lost
ring only delays), the hub reads every event after its cursor with one query in a short session and hands
each, encoded once, to the subscriptions that may see it; with no subscription it only moves its cursor.
No session stays open while streams do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.events.bus import CATCH_UP
from threadline.events.routing import SubscriberIndex
from threadline.events.subscription import Frame, StreamKind, Subscription
from threadline.models.domain.event import Event
from threadline.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

READ_LIMIT = 500
SHUTTING_DOWN = "the server is shutting down"
KEY_REVOKED = "the API key it was opened with was revoked or has expired"
_KEYS_PER_QUERY = 1000
"""Keys checked per query, well within any database's limit on a statement's parameters."""


@dataclass(frozen=True)
class HubStats:
    instance: str
    streams: dict[StreamKind, int]
    events_published: int


class StreamHub:
    """One per process, created in the app's lifespan and started before the bus rings it."""

    def __init__(
        self,
        database: Database,
        *,
        encode: Callable[[Event], bytes],
        queue_size: int,
        poll_seconds: float,
    ) -> None:
        self.instance = uuid.uuid4().hex
        self._database = database
        self._encode = encode
        self._queue_size = queue_size
        # One read never hands a subscriber more than its queue holds, so a healthy stream cannot overflow
        # on a single burst; it drains while the next read is in flight.
        self._read_limit = min(READ_LIMIT, queue_size)
        self._poll_seconds = poll_seconds
        self._index = SubscriberIndex()
        self._streams: set[Subscription] = set()
        """Every subscription until its stream ends, routed or not: one that was revoked still has its last
        frames to write, and shutting down must end it too."""
        self._stream_counts: Counter[StreamKind] = Counter()
        self._by_api_key: dict[UUID, set[Subscription]] = {}
        """Streams opened with an API key, checked once per poll period: a revoked key's streams end."""
        self._cursor = 0
        self._events_published = 0
        self._rung = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False

    @property
    def cursor(self) -> int:
        """The id of the last event fanned out: every later one will be."""
        return self._cursor

    async def start(self) -> None:
        """Begin after the newest stored event: older ones are for replays, not for live delivery."""
        self._cursor = await self._newest_id()
        self._tasks = [
            asyncio.create_task(self._follow(), name="stream-hub"),
            asyncio.create_task(self._watch_keys(), name="stream-hub-keys"),
        ]

    def ring(self, event_id: int) -> None:
        """The bus's doorbell; it never blocks."""
        if event_id == CATCH_UP or event_id > self._cursor:
            self._rung.set()

    def drain(self) -> None:
        """End every open stream now, and every stream opened from now on at once: the server is shutting
        down, and would otherwise wait for streams that never end by themselves. Their clients resume
        elsewhere from the log with their ``Last-Event-ID``."""
        self._draining = True
        for subscription in self._streams:
            subscription.abort(SHUTTING_DOWN)
            self._index.remove(subscription)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()  # all at once: a close cancelled while waiting for one still stops the others
        try:
            for task in self._tasks:
                await cancel_and_wait(task)
        finally:
            self.drain()

    def subscribe(
        self, kind: StreamKind, *, user_id: UUID, topic_id: UUID | None, api_key_id: UUID | None = None
    ) -> Subscription:
        """Start hearing events before authorisation reads the database, so no change falls in between."""
        subscription = Subscription(
            kind, user_id=user_id, topic_id=topic_id, capacity=self._queue_size, api_key_id=api_key_id
        )
        self._streams.add(subscription)
        self._stream_counts[kind] += 1
        if api_key_id is not None:
            self._by_api_key.setdefault(api_key_id, set()).add(subscription)
        if self._draining:
            subscription.abort(SHUTTING_DOWN)  # never indexed, so it hears nothing and ends at once
        else:
            self._index.add(subscription)
        return subscription

    def activate(self, subscription: Subscription, workspace_ids: Collection[UUID], *, as_of: int) -> int:
        """Complete a subscription authorised for ``workspace_ids`` by a read of the log at position
        ``as_of``; returns the id through which its stream replays from the log.

        That is ``as_of``, or the hub's cursor if the hub has read further (another process wrote): what
        the hub has read already will not be fanned out again. Every later event arrives live; frames up
        to it, heard while authorising or from a hub lagging the read, are the replay's and are dropped.
        """
        self._index.activate(subscription, workspace_ids, as_of=as_of)
        replay_through = max(as_of, self._cursor)
        subscription.skip_through(replay_through)
        return replay_through

    def unsubscribe(self, subscription: Subscription) -> None:
        """The stream has ended; removing it twice is harmless."""
        if subscription in self._streams:
            self._streams.remove(subscription)
            self._stream_counts[subscription.kind] -= 1
        self._index.remove(subscription)
        key_id = subscription.api_key_id
        if key_id is not None and subscription in self._by_api_key.get(key_id, ()):
            self._by_api_key[key_id].discard(subscription)
            if not self._by_api_key[key_id]:
                del self._by_api_key[key_id]

    def is_idle(self) -> bool:
        """No subscription is indexed anywhere."""
        return self._index.is_empty()

    def stats(self) -> HubStats:
        streams = {kind: self._stream_counts[kind] for kind in StreamKind}
        return HubStats(instance=self.instance, streams=streams, events_published=self._events_published)

    async def _follow(self) -> None:
        outage = _Outage("reading the event log", self._poll_seconds)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._rung.wait()
            self._rung.clear()
            try:
                await self._catch_up()
            except Exception:
                outage.failed()
                await asyncio.sleep(self._poll_seconds)
                continue
            outage.over()

    async def _watch_keys(self) -> None:
        outage = _Outage("checking the API keys of open streams", self._poll_seconds)
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.end_streams_of_unusable_keys()
            except Exception:
                outage.failed()
                continue
            outage.over()

    async def _catch_up(self) -> None:
        if self._index.is_empty():
            # No stream to hand events to: move past them without reading them. A stream that subscribes
            # meanwhile makes the hub read after all (nothing runs between the check and the move), and
            # one that subscribes later replays everything up to the cursor from the log.
            newest = await self._newest_id()
            if self._index.is_empty():
                self._cursor = max(self._cursor, newest)
                return
        while True:
            async with UnitOfWork(self._database) as uow:
                read = await uow.events.after(self._cursor, limit=self._read_limit)
            # No await from here to the cursor's move: an event offered is never beyond the cursor, which
            # is what ``activate`` relies on.
            for event in read.events:
                self._index.deliver(event, Frame(event.id, self._encode(event)))
                self._cursor = event.id
                self._events_published += 1
            # Past every row read, including those this version could not decode.
            self._cursor = max(self._cursor, read.last_id or 0)
            if read.exhausted:
                return

    async def end_streams_of_unusable_keys(self) -> None:
        """End the streams opened with an API key that has been revoked or has expired since.

        Revoking a key writes no event (it belongs to no workspace), so every process checks the keys of
        its own streams against the database, once per poll period. Only keys that were checked count: a
        stream opened with another key during the check waits for the next one.
        """
        checked = list(self._by_api_key)
        if not checked:
            return
        usable: set[UUID] = set()
        async with UnitOfWork(self._database) as uow:
            for start in range(0, len(checked), _KEYS_PER_QUERY):
                chunk = checked[start : start + _KEYS_PER_QUERY]
                usable |= await uow.api_keys.usable_among(chunk, now=datetime.now(UTC))
        for key_id in set(checked) - usable:
            for subscription in self._by_api_key.pop(key_id, ()):
                self._index.remove(subscription)
                subscription.end(KEY_REVOKED)

    async def _newest_id(self) -> int:
        async with UnitOfWork(self._database) as uow:
            newest = await uow.events.newest_id()
        return newest or 0


class _Outage:
    """For a task repeated on a timer: its first failure is logged in full, then nothing until it works
    again (an outage fails every attempt)."""

    def __init__(self, doing: str, retry_seconds: float) -> None:
        self._doing = doing
        self._retry_seconds = retry_seconds
        self._since: float | None = None

    def failed(self) -> None:
        if self._since is None:
            logger.exception("%s failed; retrying every %.1f s", self._doing, self._retry_seconds)
            self._since = time.monotonic()

    def over(self) -> None:
        if self._since is not None:
            logger.warning("%s works again, after %.0f s", self._doing, time.monotonic() - self._since)
            self._since = None
