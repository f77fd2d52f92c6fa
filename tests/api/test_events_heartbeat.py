"""A stream is never silent for longer than ``THREADLINE_SSE_HEARTBEAT_SECONDS``: a proxy that cuts
connections idle for a little more than that must never cut an event stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.server import streaming_client
from tests.support.sse import open_stream
from tests.support.teams import create_workspace
from threadline.settings import Settings

HEARTBEAT_SECONDS = 0.5
#: Past one period after the last write, short of two: a ping must have come, however the periods fall.
WAIT_SECONDS = 1.6 * HEARTBEAT_SECONDS


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(sse_heartbeat_seconds=HEARTBEAT_SECONDS)


async def test_a_ping_follows_one_period_after_the_last_write(app: FastAPI, alice: Account) -> None:
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
    async with (
        streaming_client(app) as http,
        open_stream(http, f"/v1/conversations/{conversation['id']}/events", headers=alice.headers) as stream,
    ):
        await asyncio.sleep(WAIT_SECONDS)
        assert stream.comments == 1, "the first ping comes one period after `ready`"

        posted = await alice.post(f"/v1/conversations/{conversation['id']}/messages", json={"content": "hi"})
        assert posted.status_code == 201, posted.text
        assert (await stream.next()).event == "message.created"
        await asyncio.sleep(WAIT_SECONDS)
        assert stream.comments == 2, "and the next one period after the event"
