"""The event-stream protocol without I/O: SSE decoding, and the position that decides what a stream
yields and where it resumes (the cases a real server rarely produces on demand)."""

from __future__ import annotations

import json

import pytest

from threadline_client import Event, Reset, Revoked
from threadline_client._sse import SseDecoder, StreamPosition

READY_AT = 40


def frame(event: str, data: object, event_id: int | None = None) -> list[str]:
    """The lines of one SSE event, blank line included."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    return [*lines, f"event: {event}", f"data: {json.dumps(data)}", ""]


def change(event_id: int) -> list[str]:
    envelope = {
        "id": event_id,
        "type": "message.created",
        "created_at": "2026-12-07T12:00:00Z",
        "workspace_id": "8f0c3c55-7f38-4a49-9cc6-9bb0d2a1c111",
        "conversation_id": None,
        "actor_id": None,
        "data": {},
    }
    return frame("message.created", envelope, event_id)


def feed(position: StreamPosition, lines: list[str]) -> list[object]:
    return [item for line in lines if (item := position.take(line)) is not None]


def opened(after: int | None = None) -> StreamPosition:
    position = StreamPosition(after, max_delay=30.0)
    position.resume_headers()
    feed(position, ["retry: 200", "", *frame("ready", {"last_event_id": after or READY_AT})])
    return position


def test_the_decoder_joins_data_lines_skips_comments_and_keeps_retry() -> None:
    decoder = SseDecoder()
    lines = [": ping", "retry: 1500", "id: 7", "event: note", "data: one", "data:two", ""]
    events = [event for line in lines if (event := decoder.feed(line)) is not None]

    assert [(event.event, event.data, event.id) for event in events] == [("note", "one\ntwo", "7")]
    assert decoder.retry_ms == 1500


def test_events_already_yielded_or_older_are_skipped() -> None:
    position = opened()
    items = feed(position, [*change(41), *change(42), *change(41), *change(42), *change(39), *change(43)])

    assert [item.id for item in items if isinstance(item, Event)] == [41, 42, 43]
    assert position.last_event_id == 43
    assert position.resume_headers() == {"Last-Event-ID": "43"}


def test_before_any_event_a_stream_resumes_from_its_ready_position() -> None:
    assert opened().resume_headers() == {"Last-Event-ID": str(READY_AT)}


def test_a_reset_is_yielded_and_the_stream_resumes_from_the_new_ready_position() -> None:
    position = StreamPosition(10**9, max_delay=30.0)
    position.resume_headers()
    items = feed(
        position, [*frame("ready", {"last_event_id": READY_AT}), *frame("reset", {"reason": "gone"})]
    )

    assert items == [Reset(reason="gone")]
    assert position.resume_headers() == {"Last-Event-ID": str(READY_AT)}


def test_revoked_ends_the_stream() -> None:
    position = opened()
    items = feed(position, frame("revoked", {"reason": "membership ended"}))

    assert items == [Revoked(reason="membership ended")]
    assert position.ended


@pytest.mark.parametrize("failures", [0, 1, 4])
def test_reconnecting_honours_retry_and_backs_off_until_ready(failures: int) -> None:
    position = opened()
    for _ in range(failures):
        position.reconnect_delay()
    delay = position.reconnect_delay()

    expected = 0.2 * 2**failures
    assert expected / 2 <= delay <= expected


def test_a_ready_stream_starts_backing_off_afresh() -> None:
    position = opened()
    for _ in range(5):
        position.reconnect_delay()
    position.resume_headers()
    feed(position, frame("ready", {"last_event_id": READY_AT}))

    assert position.reconnect_delay() <= 0.2


def test_backoff_is_capped() -> None:
    position = StreamPosition(None, max_delay=1.0)
    delays = [position.reconnect_delay() for _ in range(20)]

    assert max(delays) <= 1.0
