"""The event-stream protocol without I/O, shared by both clients: the SSE line decoder, and the position
that decides what a stream yields and where it resumes (docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from threadline_client._calls import backoff
from threadline_client.models import Event, Reset, Revoked, StreamItem


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None


class SseDecoder:
    """Lines in, events out, by the WHATWG rules Threadline relies on: comments (``: ping``) are skipped,
    ``retry`` is remembered, an event ends at a blank line."""

    def __init__(self) -> None:
        self.retry_ms: int | None = None
        self._event = ""
        self._id: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line (without its end); answers the event it completes, if any."""
        if not line:
            return self._dispatch()
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isdecimal():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event = (
            ServerSentEvent(self._event or "message", "\n".join(self._data), self._id) if self._data else None
        )
        self._event, self._id, self._data = "", None, []
        return event


class _Ready(BaseModel):
    last_event_id: int


DEFAULT_RETRY_MS = 3000
"""What the server's ``retry:`` says unless configured otherwise; used until a stream has sent one."""


class StreamPosition:
    """Where a stream stands across all its connections: the id of the last event it yielded (or the
    ``ready`` position, before any), so that each reconnect resumes right after it, and nothing is yielded
    twice or out of order, whatever a replay repeats."""

    def __init__(self, after: int | None, *, max_delay: float) -> None:
        self.last_event_id = after
        self.subscribed = False
        """The current connection has sent ``ready``: from here on it misses nothing."""
        self.ended = False
        """``revoked`` arrived: the stream is over for good."""
        self._max_delay = max_delay
        self._retry_ms = DEFAULT_RETRY_MS
        self._failures = 0
        self._ready_at: int | None = None
        self._decoder = SseDecoder()

    def resume_headers(self) -> dict[str, str]:
        """Headers for the next connection, which starts a new decoder."""
        self._decoder = SseDecoder()
        self.subscribed = False
        return {} if self.last_event_id is None else {"Last-Event-ID": str(self.last_event_id)}

    def reconnect_delay(self) -> float:
        """Seconds to wait before the next connection: the server's ``retry``, doubled after each connection
        that failed before ``ready``, with jitter."""
        delay = backoff(self._failures, base=self._retry_ms / 1000, cap=self._max_delay)
        self._failures += 1
        return delay

    def take(self, line: str) -> StreamItem | None:
        """Take one line of the current connection; answers what the stream should yield, if anything."""
        sse = self._decoder.feed(line)
        if self._decoder.retry_ms is not None:
            self._retry_ms = self._decoder.retry_ms
        if sse is None:
            return None
        if sse.event == "ready":
            self._on_ready(_Ready.model_validate_json(sse.data).last_event_id)
            return None
        if sse.event == "reset":
            self.last_event_id = self._ready_at
            return Reset.model_validate_json(sse.data)
        if sse.event == "revoked":
            self.ended = True
            return Revoked.model_validate_json(sse.data)
        return self._fresh(Event.model_validate_json(sse.data))

    def _on_ready(self, last_event_id: int) -> None:
        self.subscribed = True
        self._failures = 0
        self._ready_at = last_event_id
        if self.last_event_id is None:
            self.last_event_id = last_event_id

    def _fresh(self, event: Event) -> Event | None:
        """The event, unless the stream already yielded it (or a later one)."""
        if self.last_event_id is not None and event.id <= self.last_event_id:
            return None
        self.last_event_id = event.id
        return event
