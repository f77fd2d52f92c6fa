"""Streams opened while this process's hub has yet to read the newest events, as when another process
wrote them (API.md §6, guarantees 5 and 7): access changes the stream's authorisation already saw must not
change it again when the hub reads them late."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import post_message
from tests.support.event_log import hub_reached, last_event_id
from tests.support.seed import seed_workspace
from tests.support.server import streaming_client
from tests.support.sse import is_message, open_stream, types_and_contents
from tests.support.teams import add_member
from threadline.settings import Settings


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # The hub reads the log only when rung: changes made without a ring stay unread until the next one.
    return make_settings(event_poll_seconds=3600)


async def test_a_member_removed_and_added_again_keeps_the_streams_opened_after_it(
    app: FastAPI, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await seed_workspace(app, alice, [(bob, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation
    before = await last_event_id(app)
    await hub_reached(app, before)
    with monkeypatch.context() as unheard:
        # The memory bus rings no hub: the changes are made as if by another process whose ring was lost.
        unheard.setattr(app.state.resources.bus, "_on_ring", None)
        removed = await alice.delete(f"/v1/workspaces/{workspace['id']}/members/{bob.id}")
        assert removed.status_code == 204
        await post_message(alice, conversation["id"], "while Bob is out")
        await add_member(alice, workspace["id"], bob, "viewer")
    assert app.state.resources.hub.cursor == before < await last_event_id(app)

    in_workspace = f"/v1/workspaces/{workspace['id']}/events"
    in_conversation = f"/v1/conversations/{conversation['id']}/events"
    resuming = bob.headers | {"Last-Event-ID": str(before)}
    async with (
        streaming_client(app) as http,
        open_stream(http, in_workspace, headers=bob.headers) as workspace_stream,
        open_stream(http, in_conversation, headers=bob.headers) as conversation_stream,
        open_stream(http, in_workspace, headers=resuming) as resumed_stream,
    ):
        # Its ring makes the hub read the removal and the re-adding too, both older than the streams.
        marker = await post_message(alice, conversation["id"], "Bob is back")
        heard = [await stream.until(is_message(marker)) for stream in (workspace_stream, conversation_stream)]
        resumed = await resumed_stream.until(is_message(marker))

    marker_only = [("message.created", "Bob is back")]
    assert types_and_contents(heard[0]) == types_and_contents(heard[1]) == marker_only
    assert types_and_contents(resumed) == [("member.removed", None), ("member.added", None), *marker_only]
