"""A crash loses nothing (API.md §6, guarantee 4): a server process killed with SIGKILL in the middle of a
burst and started again on the same database lets a subscriber resume with ``Last-Event-ID`` and hear
every committed event exactly once, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.sse import SseEvent, open_stream
from tests.support.teams import create_workspace
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 30.0
BURST = 1000
"""Far more than a fast server commits before the test sees 100 answers and kills it (with 300, a quiet
machine once committed them all first)."""
HEARD_BEFORE_LEAVING = 30
POSTED_BEFORE_THE_CRASH = 100


async def test_a_subscriber_resumes_after_a_crash_and_hears_every_committed_event_once(
    e2e_database: str, tmp_path: Path
) -> None:
    server = ServerProcess(e2e_database, tmp_path)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT_SECONDS) as api:
            alice = await sign_up(api)
            conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
            path = f"/v1/conversations/{conversation['id']}/events"
            answered = 0

            async def post(number: int) -> None:
                nonlocal answered
                await post_message(alice, conversation["id"], f"#{number}")
                answered += 1

            async def crash_due() -> bool:
                return answered >= POSTED_BEFORE_THE_CRASH

            burst = asyncio.gather(*(post(number) for number in range(BURST)), return_exceptions=True)
            async with open_stream(api, path, headers=alice.headers) as stream:
                before = [await stream.next() for _ in range(HEARD_BEFORE_LEAVING)]
            # The subscriber has left; the burst goes on until the server dies in the middle of it.
            await eventually(crash_due)
            await server.kill()
            await burst

            await server.start()
            committed = await message_ids(api, alice.headers, conversation["id"])
            resume = {"Last-Event-ID": str(before[-1].id)}
            async with open_stream(api, path, headers=alice.headers | resume) as resumed:
                after = [await resumed.next(WAIT_SECONDS) for _ in range(len(committed) - len(before))]
                committed.append((await post_message(alice, conversation["id"], "after the restart"))["id"])
                after.append(await resumed.next())
    finally:
        await server.stop()

    events = before + after
    assert POSTED_BEFORE_THE_CRASH <= len(committed) - 1 < BURST
    assert [event.json()["data"]["id"] for event in events] == committed
    assert ids(events) == sorted(set(ids(events)))


async def message_ids(api: httpx.AsyncClient, headers: dict[str, str], conversation_id: str) -> list[str]:
    """Every message the database kept, in ``seq`` order: the ones whose post committed before the crash."""
    found: list[str] = []
    after = 0
    while True:
        page = await api.get(
            f"/v1/conversations/{conversation_id}/messages",
            params={"after": after, "limit": 200},
            headers=headers,
        )
        items = page.json()["items"]
        found += [item["id"] for item in items]
        if not page.json()["has_more"]:
            return found
        after = items[-1]["seq"]


def ids(events: list[SseEvent]) -> list[int]:
    return [int(str(event.id)) for event in events]
