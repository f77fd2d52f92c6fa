"""A stream is never silent for longer than ``THREADLINE_SSE_HEARTBEAT_SECONDS``: a proxy that cuts
connections idle for a little more than that must never cut an event stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.event_log import last_event_id
from tests.support.server import streaming_client
from tests.support.sse import SseStream, open_stream
from tests.support.teams import create_workspace
from tests.support.waiting import eventually
from threadline.models.domain.event import Event
from threadline.services.streams import OpenedStream, StreamService
from threadline.settings import Settings

HEARTBEAT_SECONDS = 1.0
#: How long after the last write a ping may come: a period (the server pings a hair early), and short of
#: two, the bug this guards against, with room for a busy machine's stalls.
EARLIEST, LATEST = 0.9 * HEARTBEAT_SECONDS, 1.9 * HEARTBEAT_SECONDS


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(sse_heartbeat_seconds=HEARTBEAT_SECONDS)


async def _ping_after(stream: SseStream, written_at: float) -> float:
    """How long after ``written_at`` the next ping arrived."""

    async def pinged() -> bool:
        return any(at > written_at for at in stream.comment_times)

    await eventually(pinged, within=10 * HEARTBEAT_SECONDS)
    return next(at for at in stream.comment_times if at > written_at) - written_at


async def test_a_ping_follows_one_period_after_the_last_write(app: FastAPI, alice: Account) -> None:
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
    async with (
        streaming_client(app) as http,
        open_stream(http, f"/v1/conversations/{conversation['id']}/events", headers=alice.headers) as stream,
    ):
        assert stream.last_event_at is not None
        assert EARLIEST <= await _ping_after(stream, stream.last_event_at) < LATEST, "after `ready`"

        posted = await alice.post(f"/v1/conversations/{conversation['id']}/messages", json={"content": "hi"})
        assert posted.status_code == 201, posted.text
        assert (await stream.next()).event == "message.created"
        assert stream.last_event_at is not None
        assert EARLIEST <= await _ping_after(stream, stream.last_event_at) < LATEST, "after the event"


async def test_a_slow_replay_read_is_pinged_through(
    app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resuming stream waits on the database for its replay; a slow one (up to the database timeout) must
    not leave the stream silent for longer than a period."""
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
    before = await last_event_id(app)
    posted = await alice.post(f"/v1/conversations/{conversation['id']}/messages", json={"content": "missed"})
    assert posted.status_code == 201, posted.text
    read_replay = StreamService.replay

    async def slow_replay(self: StreamService, stream: OpenedStream, *, after: int) -> list[Event]:
        await asyncio.sleep(2.5 * HEARTBEAT_SECONDS)
        return await read_replay(self, stream, after=after)

    monkeypatch.setattr(StreamService, "replay", slow_replay)
    path = f"/v1/conversations/{conversation['id']}/events"
    async with (
        streaming_client(app) as http,
        open_stream(http, path, headers=alice.headers | {"Last-Event-ID": str(before)}) as stream,
    ):
        missed = await stream.next()

        assert missed.json()["data"]["content"] == "missed"
        assert stream.comments >= 2, "a ping for each period the replay read took"
