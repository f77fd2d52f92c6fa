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
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unavailable
from threadline.events.bus import CATCH_UP
from threadline.events.routing import SubscriberIndex
from threadline.events.subscription import Frame, StreamKind, Subscription
from threadline.models.domain.event import Event
from threadline.tasks import Outage, cancel_and_wait, repeat_every

logger = logging.getLogger(__name__)

READ_LIMIT = 500
SHUTTING_DOWN = "the server is shutting down"
KEY_REVOKED = "the API key it was opened with was revoked or has expired"
SIGN_IN_ENDED = "the sign-in it was opened with has ended"
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
        self._by_api_key = _StreamsByCredential(KEY_REVOKED)
        self._by_sign_in = _StreamsByCredential(SIGN_IN_ENDED)
        self._cursor = 0
        self._cursor_known = False
        """Whether the cursor is a position read from the log: not yet if the database was down at start."""
        self._events_published = 0
        self._rung = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False

    @property
    def cursor(self) -> int:
        """The id of the last event fanned out: every later one will be."""
        return self._cursor

    async def start(self) -> None:
        """Begin after the newest stored event: older ones are for replays, not for live delivery.

        With the database unavailable, begin anyway: the first read of the log that succeeds places the
        cursor (no stream can open before, since opening one reads the database too).
        """
        with contextlib.suppress(Unavailable):
            self._cursor, self._cursor_known = await self._newest_id(), True
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
        self,
        kind: StreamKind,
        *,
        user_id: UUID,
        topic_id: UUID | None,
        api_key_id: UUID | None = None,
        sign_in_id: UUID | None = None,
    ) -> Subscription:
        """Start hearing events before authorisation reads the database, so no change falls in between."""
        subscription = Subscription(
            kind,
            user_id=user_id,
            topic_id=topic_id,
            capacity=self._queue_size,
            api_key_id=api_key_id,
            sign_in_id=sign_in_id,
        )
        self._streams.add(subscription)
        self._by_api_key.add(api_key_id, subscription)
        self._by_sign_in.add(sign_in_id, subscription)
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
        if not self._cursor_known:
            # The first position known: the hub reads on from it, as this stream needs.
            self._cursor, self._cursor_known = as_of, True
        replay_through = max(as_of, self._cursor)
        subscription.skip_through(replay_through)
        return replay_through

    def unsubscribe(self, subscription: Subscription) -> None:
        """The stream has ended; removing it twice is harmless."""
        self._streams.discard(subscription)
        self._index.remove(subscription)
        self._by_api_key.discard(subscription.api_key_id, subscription)
        self._by_sign_in.discard(subscription.sign_in_id, subscription)

    def is_idle(self) -> bool:
        """No subscription is indexed anywhere."""
        return self._index.is_empty()

    def stats(self) -> HubStats:
        """Counted from the one registry of streams, so the counts cannot drift from it."""
        counts = Counter(subscription.kind for subscription in self._streams)
        streams = {kind: counts[kind] for kind in StreamKind}
        return HubStats(instance=self.instance, streams=streams, events_published=self._events_published)

    async def _follow(self) -> None:
        outage = Outage("reading the event log", self._poll_seconds, log=logger)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._rung.wait()
            self._rung.clear()
            try:
                await self._catch_up()
            except Exception as error:
                outage.failed(error)
                await asyncio.sleep(self._poll_seconds)
                continue
            outage.over()

    async def _watch_keys(self) -> None:
        await repeat_every(
            self._poll_seconds,
            self._check_credentials,
            doing="checking the credentials of open streams",
            log=logger,
        )

    async def _check_credentials(self) -> None:
        """An unavailable database is the log's follower to report: one warning from the hub, not two."""
        with contextlib.suppress(Unavailable):
            await self.end_streams_of_revoked_credentials()

    async def _catch_up(self) -> None:
        if self._index.is_empty() or not self._cursor_known:
            # No stream to hand events to: move past them without reading them. A stream that subscribes
            # meanwhile makes the hub read after all (nothing runs between the check and the move), and
            # one that subscribes later replays everything up to the cursor from the log. A cursor not yet
            # known is placed the same way, unless a stream's activation placed it meanwhile.
            newest = await self._newest_id()
            if not self._cursor_known:
                self._cursor, self._cursor_known = newest, True
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

    async def end_streams_of_revoked_credentials(self) -> None:
        """End the streams opened with an API key that has been revoked or has expired since, or with a
        sign-in that has ended.

        Neither writes an event (they belong to no workspace), so every process checks the credentials of
        its own streams against the database, once per poll period. Only those checked count: a stream
        opened with another during the check waits for the next one.
        """
        keys, sign_ins = self._by_api_key.ids(), self._by_sign_in.ids()
        if not keys and not sign_ins:
            return
        async with UnitOfWork(self._database) as uow:
            now = datetime.now(UTC)
            usable_keys = await _in_chunks(partial(uow.api_keys.usable_among, now=now), keys)
            live_sign_ins = await _in_chunks(partial(uow.sign_ins.live_among, now=now), sign_ins)
        for ended in (
            *self._by_api_key.end(set(keys) - usable_keys),
            *self._by_sign_in.end(set(sign_ins) - live_sign_ins),
        ):
            self._index.remove(ended)

    async def _newest_id(self) -> int:
        async with UnitOfWork(self._database) as uow:
            newest = await uow.events.newest_id()
        return newest or 0


class _StreamsByCredential:
    """Open streams by the credential they were opened with (an API key, a sign-in), so that each
    credential is checked once however many streams use it."""

    def __init__(self, reason: str) -> None:
        self._reason = reason
        self._streams: dict[UUID, set[Subscription]] = {}

    def ids(self) -> list[UUID]:
        return list(self._streams)

    def add(self, credential_id: UUID | None, subscription: Subscription) -> None:
        if credential_id is not None:
            self._streams.setdefault(credential_id, set()).add(subscription)

    def discard(self, credential_id: UUID | None, subscription: Subscription) -> None:
        if credential_id is None:
            return
        streams = self._streams.get(credential_id, set())
        if subscription in streams:
            streams.discard(subscription)
            if not streams:
                del self._streams[credential_id]

    def end(self, credential_ids: Collection[UUID]) -> list[Subscription]:
        """End the streams of these credentials (with ``revoked``); returns them."""
        ended = [subscription for key in credential_ids for subscription in self._streams.pop(key, ())]
        for subscription in ended:
            subscription.end(self._reason)
        return ended


async def _in_chunks(still_good: Callable[[list[UUID]], Awaitable[set[UUID]]], ids: list[UUID]) -> set[UUID]:
    """``still_good`` over ``ids`` a thousand at a time, well within any database's parameter limit."""
    good: set[UUID] = set()
    for start in range(0, len(ids), _KEYS_PER_QUERY):
        good |= await still_good(ids[start : start + _KEYS_PER_QUERY])
    return good
