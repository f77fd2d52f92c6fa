"""``events()`` against real servers: every event exactly once and in order across a dropped connection,
a server killed and restarted, and a ``reset``; a ``revoked`` stream ends; the sync client's stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.client.conftest import QUICK_RETRY_MS, Place, make_place, sign_up, sqlite_url
from tests.client.support import WAIT_SECONDS, hear, heard_messages, ids_of, post
from tests.support.proxy import TcpProxy
from tests.support.server import ServerProcess
from threadline_client import AsyncThreadline, Event, Reset, Revoked, Threadline

pytestmark = pytest.mark.e2e


@contextlib.asynccontextmanager
async def behind_proxy(
    server: ServerProcess, token: str | None
) -> AsyncIterator[tuple[TcpProxy, AsyncThreadline]]:
    """A client that reaches ``server`` through a proxy the test can cut."""
    async with (
        TcpProxy.in_front_of(server.url) as proxy,
        AsyncThreadline(f"http://127.0.0.1:{proxy.port}", token=token) as client,
    ):
        yield proxy, client


@pytest.mark.parametrize("stream_tokens", [False, True], ids=["header", "stream token"])
async def test_a_dropped_connection_loses_and_repeats_nothing(
    server: ServerProcess, alice: AsyncThreadline, place: Place, stream_tokens: bool
) -> None:
    conversation_id = place.conversation.id
    async with (
        behind_proxy(server, alice.token) as (proxy, client),
        client.events(conversation_id=conversation_id, stream_tokens=stream_tokens) as events,
    ):
        posted = await post(alice, conversation_id, 5)
        heard = await hear(events, 3)
        proxy.cut()
        # Posted while the stream is down: only a new connection, resuming, can deliver these.
        posted += await post(alice, conversation_id, 10, start=5)
        proxy.restore()
        heard += await hear(events, 7)

    assert heard_messages(heard) == ids_of(posted)


async def test_a_server_killed_and_restarted_loses_and_repeats_nothing(tmp_path: Path) -> None:
    server = ServerProcess(sqlite_url(tmp_path), tmp_path, sse_retry_ms=QUICK_RETRY_MS)
    await server.start()
    try:
        async with await sign_up(server.url) as alice:
            conversation_id = (await make_place(alice)).conversation.id
            async with alice.events(conversation_id=conversation_id) as events:
                posted = await post(alice, conversation_id, 5)
                heard = await hear(events, 2)
                await server.kill()
                await server.start()
                posted += await post(alice, conversation_id, 10, start=5)
                heard += await hear(events, 8)
    finally:
        await server.stop()

    assert heard_messages(heard) == ids_of(posted)


async def test_a_reset_is_yielded_then_the_stream_goes_on_live_and_resumes_from_there(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    conversation_id = place.conversation.id
    async with (
        behind_proxy(server, alice.token) as (proxy, client),
        client.events(conversation_id=conversation_id, after=10**12) as events,
    ):
        reset = await anext(events)
        posted = await post(alice, conversation_id, 2)
        heard = await hear(events, 2)
        proxy.cut()
        posted += await post(alice, conversation_id, 4, start=2)
        proxy.restore()
        # Resumed from where the reset put it, so no second reset: the events, once each.
        heard += await hear(events, 2)

    assert isinstance(reset, Reset)
    assert reset.reason
    assert heard_messages(heard) == ids_of(posted)


async def test_a_revoked_stream_yields_revoked_and_ends(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    async with await sign_up(server.url, "Bob") as bob:
        bob_user = await bob.get_me()
        await alice.add_member(place.workspace.id, email=bob_user.email, role="viewer")
        async with bob.events(workspace_id=place.workspace.id) as events:
            await alice.remove_member(place.workspace.id, bob_user.id)
            async with asyncio.timeout(WAIT_SECONDS):
                items = [item async for item in events]

    assert isinstance(items[-1], Revoked)
    assert items[-1].reason == "membership ended"
    assert all(isinstance(item, Event) for item in items[:-1])


def test_the_sync_client_follows_a_stream(server: ServerProcess) -> None:
    with Threadline(server.url) as client:
        client.register(email="sync-events@example.com", password="correct horse battery")
        client.login(email="sync-events@example.com", password="correct horse battery")
        conversation = client.create_conversation(client.create_workspace(name="W").id)
        with client.events(conversation_id=conversation.id) as events:
            posted = [client.post_message(conversation.id, f"#{number}") for number in range(3)]
            heard = [next(events) for _ in posted]

    assert [item.message().id for item in heard if isinstance(item, Event)] == [m.id for m in posted]
    assert events.last_event_id == max(item.id for item in heard if isinstance(item, Event))
