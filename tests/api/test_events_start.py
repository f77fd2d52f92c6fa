"""Where a stream that does not resume starts (API.md §6, guarantee 3): right after the newest event
committed when it opened, even while the hub has yet to read the latest events."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import hub_reached, last_event_id, log_messages
from tests.support.server import streaming_client
from tests.support.sse import open_stream
from tests.support.teams import create_workspace
from threadline.settings import Settings


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # The hub reads the log only when rung: events written without a ring stay unread.
    return make_settings(event_poll_seconds=3600)


async def test_a_fresh_stream_starts_after_the_newest_committed_event_not_where_the_hub_is(
    app: FastAPI, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    await hub_reached(app, await last_event_id(app))
    await log_messages(app, conversation, ["before the stream opened"])
    newest = await last_event_id(app)
    assert app.state.resources.hub.cursor < newest

    path = f"/v1/conversations/{conversation['id']}/events"
    async with streaming_client(app) as http, open_stream(http, path, headers=alice.headers) as stream:
        assert stream.ready.json() == {"last_event_id": newest}
        await post_message(alice, conversation["id"], "after")
        event = await stream.next()

    assert event.json()["data"]["content"] == "after"
