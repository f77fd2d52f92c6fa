"""``events()`` across two ``threadline serve`` processes on one PostgreSQL database and the Redis bus:
a stream that a load balancer moves from one process to the other hears every event once, in order,
whichever process took each write."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.client.conftest import QUICK_RETRY_MS, make_place, sign_up
from tests.client.support import Balancer, hear, heard_messages, ids_of, post
from tests.support.redis_server import REDIS_URL, require_redis
from tests.support.server import ServerProcess
from threadline_client import AsyncThreadline

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


async def test_a_stream_moved_to_another_process_loses_and_repeats_nothing(
    database_url: str, tmp_path: Path
) -> None:
    await require_redis()
    settings = {"event_bus": "redis", "redis_url": REDIS_URL, "sse_retry_ms": QUICK_RETRY_MS}
    servers = [ServerProcess(database_url, tmp_path, **settings) for _ in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        for server in servers:
            stack.push_async_callback(server.stop)
        await asyncio.gather(*(server.start() for server in servers))
        first = await stack.enter_async_context(await sign_up(servers[0].url))
        second = await stack.enter_async_context(AsyncThreadline(servers[1].url, token=first.token))
        balancer = await stack.enter_async_context(Balancer.in_front_of([server.port for server in servers]))
        follower = await stack.enter_async_context(AsyncThreadline(balancer.url, token=first.token))
        conversation_id = (await make_place(first)).conversation.id

        async with follower.events(conversation_id=conversation_id) as events:
            posted = await post(first, conversation_id, 5)
            heard = await hear(events, 3)
            balancer.move_to(1)
            # Written through the process the stream left, then through the one it moved to.
            posted += await post(first, conversation_id, 10, start=5)
            posted += await post(second, conversation_id, 15, start=10)
            heard += await hear(events, 12)
            moved = await second.get_event_stats()

    assert moved.streams.conversation == 1, "the stream is on the second process now"
    assert heard_messages(heard) == ids_of(posted)
