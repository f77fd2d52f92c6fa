"""Asyncio Server-Sent Events client built to hold thousands of streams in one process.

Each stream is one socket, one parser and one task on raw asyncio streams (no httpx, whose per-stream
memory would dominate at 10,000 subscribers). Every event is stamped with ``time.monotonic()`` when its
terminating blank line is parsed, which is the arrival time the latency benchmarks use.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from bench.http1 import TRANSPORT_ERRORS, encode_request, iter_body, read_body, read_head

READY_EVENT = "ready"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event; ``id`` is the stream's last event id when it was dispatched."""

    event: str
    data: str
    id: str | None
    arrival: float


class SseError(Exception):
    """Base of the errors this client raises."""


class StreamRefused(SseError):
    """The server answered the stream request with something other than 200."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"stream refused with {status}: {body[:200]!r}")
        self.status = status


class StreamEnded(SseError):
    """The stream closed before it sent its ``ready`` event."""


class StreamsFailed(SseError):
    """Some of the streams a measurement needs did not open."""


_OPEN_ERRORS: tuple[type[Exception], ...] = (*TRANSPORT_ERRORS, SseError, TimeoutError)


class SseParser:
    """Incremental ``text/event-stream`` parser (LF or CRLF line ends, as servers send them).

    ``retry`` is ignored: the benchmarks never reconnect. Comments (heartbeats) are counted.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[str] = []
        self._event = ""
        self.last_id: str | None = None
        self.comments = 0

    def feed(self, chunk: bytes, arrival: float) -> list[SseEvent]:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        events: list[SseEvent] = []
        for raw in lines:
            line = raw.removesuffix(b"\r").decode()
            if not line:
                if self._data:
                    events.append(
                        SseEvent(self._event or "message", "\n".join(self._data), self.last_id, arrival)
                    )
                self._data, self._event = [], ""
            elif line.startswith(":"):
                self.comments += 1
            else:
                name, _, value = line.partition(":")
                self._field(name, value.removeprefix(" "))
        return events

    def _field(self, name: str, value: str) -> None:
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_id = value


EventHandler = Callable[["SseStream", SseEvent], None]


class SseStream:
    """An open stream whose events go to ``on_event`` from a background task until ``close``."""

    def __init__(self, writer: asyncio.StreamWriter, on_event: EventHandler) -> None:
        self.parser = SseParser()
        self.end_reason: str | None = None
        self._writer = writer
        self._on_event = on_event
        self._task: asyncio.Task[None] | None = None

    def dispatch(self, events: list[SseEvent]) -> None:
        for event in events:
            self._on_event(self, event)

    def follow(self, body: AsyncIterator[bytes]) -> None:
        """Hand the rest of the body to a background task."""
        self._task = asyncio.create_task(self._pump(body))

    async def _pump(self, body: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in body:
                self.dispatch(self.parser.feed(chunk, time.monotonic()))
            self.end_reason = "closed by server"
        except TRANSPORT_ERRORS as exc:
            self.end_reason = f"{type(exc).__name__}: {exc}"

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._writer.close()


def _ignore(_stream: SseStream, _event: SseEvent) -> None:
    """The default handler, for streams that are only held open."""


async def open_stream(
    host: str,
    port: int,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    on_event: EventHandler = _ignore,
) -> SseStream:
    """Open ``GET path`` and return once its ``ready`` event has arrived, so the stream is subscribed.

    Pass a bearer credential in ``headers`` or a stream token as ``?token=`` in ``path``.
    """
    reader, writer = await asyncio.open_connection(host, port)
    stream = SseStream(writer, on_event)
    try:
        request_headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **(headers or {})}
        writer.write(encode_request("GET", path, f"{host}:{port}", request_headers, b""))
        head = await read_head(reader)
        if head.status != 200:
            raise StreamRefused(head.status, await read_body(reader, head))
        body = iter_body(reader, head)
        async for chunk in body:
            events = stream.parser.feed(chunk, time.monotonic())
            stream.dispatch(events)
            if any(event.event == READY_EVENT for event in events):
                stream.follow(body)
                return stream
        raise StreamEnded(f"{path} closed before its {READY_EVENT!r} event")
    except BaseException:
        writer.close()
        raise


@dataclass(slots=True)
class OpenedStreams:
    """The streams that opened, why the others did not, and how long opening all of them took."""

    streams: list[SseStream] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        """Streams opened (up to ``ready``) per second."""
        return len(self.streams) / self.elapsed if self.elapsed else 0.0

    def require_all(self) -> None:
        """Raise unless every stream opened, for measurements that mean nothing with one missing."""
        if self.failures:
            count = len(self.failures) + len(self.streams)
            raise StreamsFailed(f"{len(self.failures)} of {count} streams failed; first: {self.failures[0]}")


async def open_streams(
    host: str,
    port: int,
    path: str,
    count: int,
    *,
    concurrency: int,
    headers: Mapping[str, str] | None = None,
    on_event: EventHandler = _ignore,
    open_within: float = 30.0,
) -> OpenedStreams:
    """Open ``count`` streams with at most ``concurrency`` handshakes in flight, each bounded in time.

    Failures are collected, not raised, so a benchmark can report how many streams the server refused.
    """
    raise_open_file_limit()
    gate = asyncio.Semaphore(concurrency)
    opened = OpenedStreams()

    async def open_one() -> None:
        async with gate:
            try:
                async with asyncio.timeout(open_within):
                    opened.streams.append(
                        await open_stream(host, port, path, headers=headers, on_event=on_event)
                    )
            except _OPEN_ERRORS as exc:
                opened.failures.append(f"{type(exc).__name__}: {exc}")

    started = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(count)))
    opened.elapsed = time.monotonic() - started
    return opened


async def close_streams(streams: list[SseStream]) -> None:
    await asyncio.gather(*(stream.close() for stream in streams))


def raise_open_file_limit() -> int:
    """Lift the soft open-file limit to the hard one (inherited by servers started later); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft
