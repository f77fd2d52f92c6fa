"""Server-Sent Events on the wire (API.md §6): the frames, and the response that writes one stream.

The response is lean on purpose, since a process holds thousands of idle streams: no task group and no
per-stream buffer beyond the subscription's queue, only one small task that notices the client leaving.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from threadline.api.metrics import Metrics
from threadline.errors import Unavailable
from threadline.events.subscription import Subscription
from threadline.models.api.response.events import EventResponse
from threadline.models.domain.event import Event
from threadline.services.streams import OpenedStream, ReplayOutlived, StreamService

logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
PING = b": ping\n\n"
_NEARLY_A_PERIOD = 0.95
"""A silence this share of a heartbeat period long is pinged as if it were a whole one."""
_T = TypeVar("_T")
_HEADERS = [
    (b"content-type", EVENT_STREAM.encode()),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def encode_event(event: Event) -> bytes:
    payload = EventResponse.model_validate(event).model_dump_json()
    return f"id: {event.id}\nevent: {event.type.value}\ndata: {payload}\n\n".encode()


def control_frame(name: str, **data: object) -> bytes:
    """An event without an ``id`` (``ready``, ``reset``, ``revoked``): it does not move the client's place."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


class EventStreamResponse(Response):
    """Writes ``retry`` and ``ready`` (and ``reset``), the replay, then live events until the stream ends."""

    media_type = EVENT_STREAM

    def __init__(
        self,
        stream: OpenedStream,
        streams: StreamService,
        *,
        retry_ms: int,
        heartbeat_seconds: float,
        metrics: Metrics,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = list(_HEADERS)
        self._stream = stream
        self._streams = streams
        self._subscription = stream.subscription
        self._retry_ms = retry_ms
        self._heartbeat = heartbeat_seconds
        self._metrics = metrics
        self._loop = asyncio.get_running_loop()
        self._last_write = self._loop.time()
        self._beat: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(_abort_on_disconnect(receive, self._subscription))
        self._beat = self._loop.call_later(self._heartbeat, self._on_heartbeat)
        self._metrics.open_streams.inc()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._write(send, self._prelude())
            await self._replay(send)
            await self._follow(send)
            await self._finish(send)
        finally:
            self._beat.cancel()
            watcher.cancel()
            self._streams.close(self._stream)
            self._metrics.open_streams.dec()

    def _prelude(self) -> bytes:
        stream = self._stream
        prelude = f"retry: {self._retry_ms}\n\n".encode()
        prelude += control_frame("ready", last_event_id=stream.resume_after)
        if stream.reset_reason is not None:
            prelude += control_frame("reset", reason=stream.reset_reason)
            self._metrics.stream_resets.inc()
        return prelude

    async def _replay(self, send: Send) -> None:
        """Send the stored events the client missed, up to where the subscription takes over.

        A stream whose access ended meanwhile still replays in full: the replay sends only what the user
        could see, and ``revoked`` comes after it.
        """
        stream = self._stream
        position = stream.resume_after
        while position < stream.replay_through and self._subscription.abort_reason is None:
            try:
                read = await self._pinging_while(send, self._streams.replay(stream, after=position))
            except Unavailable:
                logger.warning("ending a stream: the database is unavailable for its replay")
                self._subscription.abort("the database is unavailable")
                return
            except ReplayOutlived:
                # Reconnecting from its last id, the client is told to reload (``reset``).
                logger.info("ending a stream: events it had yet to replay were pruned")
                self._subscription.abort("the events it had yet to replay were pruned")
                return
            if read.events:
                await self._write(send, b"".join(encode_event(event) for event in read.events))
                self._metrics.events_delivered.inc(len(read.events))
            if read.exhausted or read.last_id is None:
                return
            position = read.last_id

    async def _pinging_while(self, send: Send, read: Awaitable[_T]) -> _T:
        """Await ``read`` (a replay read), pinging whenever the stream has been silent for a period: a slow
        database (up to its timeout) must not leave the stream quiet long enough for a proxy to cut it."""
        reading = asyncio.ensure_future(read)
        try:
            while True:
                due = self._last_write + self._heartbeat - self._loop.time()
                done, _ = await asyncio.wait((reading,), timeout=max(due, 0.0))
                if done:
                    return reading.result()
                await self._write(send, PING)
        finally:
            reading.cancel()

    async def _follow(self, send: Send) -> None:
        """Live frames (the subscription queues none the replay sent), a ping while idle, ``revoked`` at
        the end."""
        subscription = self._subscription
        while subscription.abort_reason is None:
            frames = await subscription.next_frames()
            if frames:
                await self._write(send, b"".join(frame.data for frame in frames))
                self._metrics.events_delivered.inc(len(frames))
            elif subscription.end_reason is not None:
                await self._write(send, control_frame("revoked", reason=subscription.end_reason))
                return
            else:
                await self._write(send, PING)

    def _on_heartbeat(self) -> None:
        """Wake the stream for a ping once it has been silent for a heartbeat period, never later.

        One timer per stream, re-armed for the moment the silence would reach a period, rather than on
        every write: a write only notes its time.
        """
        silent = self._loop.time() - self._last_write
        # A hair early is as good as on time: the ping then written is itself a write, and the next check
        # comes a whole period after it rather than a hair after this one.
        if silent >= self._heartbeat * _NEARLY_A_PERIOD:
            self._subscription.nudge()
            silent = 0.0
        self._beat = self._loop.call_later(self._heartbeat - silent, self._on_heartbeat)

    async def _write(self, send: Send, data: bytes) -> None:
        self._last_write = self._loop.time()
        await self._subscription.unless_aborted(
            send, {"type": "http.response.body", "body": data, "more_body": True}
        )

    async def _finish(self, send: Send) -> None:
        """End the body if the socket takes it at once; a client that stopped reading is cut off instead.

        (Returning with the body unfinished makes the server close the connection: ``CutOffStreams``.)
        """
        try:
            async with asyncio.timeout(0):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            _cut_off.set(True)
            self._metrics.streams_cut_off.inc()


_cut_off: ContextVar[bool] = ContextVar("threadline_stream_cut_off", default=False)
"""Set in the server's task for a request whose stream was cut off from a client that stopped reading."""
_UNFINISHED = "ASGI callable returned without completing response"


class CutOffStreams(logging.Filter):
    """For uvicorn's error log: a stream cut off from a stalled reader is left unfinished on purpose, since
    only an unfinished response makes the server close a connection the client no longer reads. That is
    no error, and uvicorn's complaint about it (logged in the request's own task, after the app returned)
    is dropped; every other unfinished response is still reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_cut_off.get() and str(record.msg).startswith(_UNFINISHED))


async def _abort_on_disconnect(receive: Receive, subscription: Subscription) -> None:
    """End the stream when the client leaves, or when its request fails to read (a body over the limit):
    after that nothing could tell that the client left."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:
        logger.warning("ending a stream: reading its request failed", exc_info=True)
        subscription.abort("the request could not be read")
        return
    subscription.abort("the client went away")
