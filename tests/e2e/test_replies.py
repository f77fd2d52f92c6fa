"""Streaming replies against a real ``threadline serve``: a SIGKILL mid-reply loses no accepted delta, and
a subscriber cut off mid-reply resumes with ``Last-Event-ID`` and rebuilds exactly the stored text."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation
from tests.support.replies import finish, rebuild, reply_path, send_delta, start_reply, stream_text
from tests.support.server import ServerProcess
from tests.support.sse import SseEvent, SseStream, open_stream
from tests.support.teams import create_workspace
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 30.0
PIECES = [f"word{number} " for number in range(400)]
KILLED_AFTER = 150
"""Deltas accepted before the server is killed: mid-reply."""


async def test_a_killed_server_keeps_every_accepted_delta_and_a_resumed_stream_rebuilds_the_text(
    e2e_database: str, tmp_path: Path
) -> None:
    server = ServerProcess(e2e_database, tmp_path)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT_SECONDS) as api:
            author = await sign_up(api, name="Assistant")
            conversation = await create_conversation(author, (await create_workspace(author))["id"])
            reply = await start_reply(author, conversation["id"])
            path = f"/v1/conversations/{conversation['id']}/events"
            accepted: list[str] = []

            async def stream_until_killed() -> None:
                with contextlib.suppress(httpx.TransportError):
                    for piece in PIECES:
                        answer = await send_delta(author, reply, sum(map(len, accepted)), piece)
                        assert answer.status_code == 200, answer.text
                        accepted.append(piece)

            async def kill_due() -> bool:
                return len(accepted) >= KILLED_AFTER

            async with open_stream(api, path, headers=author.headers) as stream:
                sending = asyncio.create_task(stream_until_killed())
                await eventually(kill_due, within=WAIT_SECONDS)
                heard = await _events_until_cut_off(stream, server)
            await sending

            await server.start()
            stored = await _read(author, reply)
            kept = "".join(accepted)
            assert stored["status"] == "streaming"
            assert stored["content"].startswith(kept)  # a delta sent as the server died may have landed too
            assert stored["content"] in {kept, kept + PIECES[len(accepted)]}

            stored_pieces = len(stored["content"].split())  # every piece ends with its only space
            resume = {"Last-Event-ID": heard[-1].id or "0"}
            async with open_stream(api, path, headers=author.headers | resume) as resumed:
                length = await stream_text(
                    author, reply, PIECES[stored_pieces:], start=len(stored["content"])
                )
                ended = await finish(author, reply)
                after = await resumed.until(
                    lambda event: event.event == "message.updated", within=WAIT_SECONDS
                )
    finally:
        await server.stop()

    text = "".join(PIECES)
    assert length == len(text)
    assert ended.json()["content"] == text
    events = [event.json() for event in heard + after]
    ids = [event["id"] for event in events]
    assert ids == sorted(set(ids)), "an event came twice or out of order"
    deltas = [event for event in events if event["type"] == "message.delta"]
    assert rebuild(deltas, reply["id"]) == text  # from the deltas alone, before the final update


async def _events_until_cut_off(stream: SseStream, server: ServerProcess) -> list[SseEvent]:
    """Kill the server with SIGKILL and return every event the stream had heard until it was cut off."""
    await server.kill()
    return [event for event in await stream.rest(within=WAIT_SECONDS) if event.id is not None]


async def _read(account: Account, reply: dict[str, Any]) -> dict[str, Any]:
    answer = await account.get(reply_path(reply["conversation_id"], reply["id"]))
    assert answer.status_code == 200, answer.text
    message: dict[str, Any] = answer.json()
    return message
