"""A small Server-Sent Events client for tests: it reads a stream in the background and lets the test wait,
within a bound, for the events it expects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

WAIT_SECONDS = 10.0
"""How long a test waits for an event it expects: generous, since the machine may be busy."""


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


def is_message(message: Mapping[str, Any]) -> Callable[[SseEvent], bool]:
    """For ``SseStream.until``: the ``message.created`` of ``message``."""
    return lambda event: event.event == "message.created" and event.json()["data"]["id"] == message["id"]


def types_and_contents(events: list[SseEvent]) -> list[tuple[str, str | None]]:
    """Each event's type, and its message's content (``None`` for other events)."""
    return [(event.event, event.json()["data"].get("content")) for event in events]


class StreamClosed(AssertionError):
    """The server ended the stream while the test still expected an event."""


class SseStream:
    """An open stream whose events are parsed as they arrive; ``None`` in the queue marks its end."""

    ready: SseEvent
    """The stream's ``ready`` event, read by ``open_stream``."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments = 0
        self.comment_times: list[float] = []
        """When each comment (``: ping``) arrived, in the event loop's time."""
        self.last_event_at: float | None = None
        """When the latest event arrived, in the event loop's time."""
        self.retry: int | None = None
        self._events: asyncio.Queue[SseEvent | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def next(self, within: float = WAIT_SECONDS) -> SseEvent:
        async with asyncio.timeout(within):
            event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)
            raise StreamClosed("the server closed the stream")
        return event

    async def until(self, done: Callable[[SseEvent], bool], within: float = WAIT_SECONDS) -> list[SseEvent]:
        """Every event up to and including the first for which ``done`` holds."""
        events: list[SseEvent] = []
        async with asyncio.timeout(within):
            while not events or not done(events[-1]):
                events.append(await self.next(within))
        return events

    async def rest(self, within: float = WAIT_SECONDS) -> list[SseEvent]:
        """Every event until the server closes the stream."""
        events: list[SseEvent] = []
        async with asyncio.timeout(within):
            while (event := await self._events.get()) is not None:
                events.append(event)
        self._events.put_nowait(None)
        return events

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.response.aclose()

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        data: list[str] = []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments += 1
                    self.comment_times.append(asyncio.get_running_loop().time())
                elif line:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "data":
                        data.append(value)
                    elif name == "retry":
                        self.retry = int(value)
                    else:
                        fields[name] = value
                elif data:
                    self.last_event_at = asyncio.get_running_loop().time()
                    self._events.put_nowait(
                        SseEvent(fields.get("event", "message"), "\n".join(data), fields.get("id"))
                    )
                    fields, data = {}, []
        except httpx.TransportError:
            pass
        finally:
            self._events.put_nowait(None)


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> AsyncIterator[SseStream]:
    """``GET path`` as an event stream, yielded once its ``ready`` event has arrived (as ``stream.ready``)."""
    request = client.stream(
        "GET", path, headers=headers, params=params, timeout=httpx.Timeout(WAIT_SECONDS, read=None)
    )
    async with request as response:
        if response.status_code != 200:
            raise AssertionError(f"{path} answered {response.status_code}: {(await response.aread())!r}")
        stream = SseStream(response)
        try:
            ready = await stream.next()
            assert ready.event == "ready", ready
            stream.ready = ready
            yield stream
        finally:
            await stream.close()


class StalledReader:
    """A client that opens a stream, reads it up to ``ready`` and then stops reading its socket.

    Its receive buffer is made tiny, so that what the server writes backs up into the server soon.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, received: bytes) -> None:
        self._reader = reader
        self._writer = writer
        self._received = received

    @classmethod
    async def connect(cls, host: str, port: int, path: str, headers: Mapping[str, str]) -> StalledReader:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        async with asyncio.timeout(WAIT_SECONDS):
            while b"event: ready" not in received:
                received += await reader.read(4096)
        return cls(reader, writer, received)

    async def read_to_end(self, within: float = WAIT_SECONDS) -> bytes:
        """Start reading again, until the server closes the connection; returns everything received."""
        async with asyncio.timeout(within):
            return self._received + await self._reader.read()

    def close(self) -> None:
        self._writer.close()
