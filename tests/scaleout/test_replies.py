"""Streaming replies with two ``threadline serve`` processes on PostgreSQL and the Redis bus: a reply
written through one is rebuilt exactly by a subscriber of the other, and an abandoned reply is failed by
the idle timeout exactly once, whichever process gets to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.scaleout.test_multiprocess import Cluster, running_cluster
from tests.support.redis_server import REDIS_URL, require_redis
from tests.support.replies import finish, rebuild, reply_path, start_reply, stream_text
from tests.support.waiting import eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

IDLE_TIMEOUT_SECONDS = 1.0
WAIT_SECONDS = 30.0


@pytest.fixture
async def cluster(database_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    await require_redis()
    settings = {
        "event_bus": "redis",
        "redis_url": REDIS_URL,
        "stream_idle_timeout_seconds": IDLE_TIMEOUT_SECONDS,
    }
    async with running_cluster(database_url, tmp_path, **settings) as running:
        yield running


async def test_a_reply_through_one_process_is_rebuilt_exactly_on_the_other(cluster: Cluster) -> None:
    author, watcher = cluster.alice
    pieces = [f"tok{number} " for number in range(200)]
    async with cluster.stream(1) as watching:
        reply = await start_reply(author, cluster.conversation_id)
        await stream_text(author, reply, pieces)
        assert (await finish(author, reply)).status_code == 200
        heard = await watching.until(
            lambda event: event.event == "message.updated" and event.json()["data"]["id"] == reply["id"],
            within=WAIT_SECONDS,
        )
    deltas = [event.json() for event in heard if event.event == "message.delta"]
    assert rebuild(deltas, reply["id"]) == "".join(pieces)
    stored = await watcher.get(reply_path(cluster.conversation_id, reply["id"]))
    assert stored.json()["content"] == "".join(pieces)


async def test_an_abandoned_reply_fails_exactly_once_with_two_processes(cluster: Cluster) -> None:
    author = cluster.alice[0]
    replies = [await start_reply(author, cluster.conversation_id) for _ in range(5)]
    for reply in replies:
        await stream_text(author, reply, ["unfinished"])

    async def all_failed() -> bool:
        statuses = [
            (await author.get(reply_path(cluster.conversation_id, reply["id"]))).json()["status"]
            for reply in replies
        ]
        return statuses == ["failed"] * len(replies)

    await eventually(all_failed, within=WAIT_SECONDS)
    await asyncio.sleep(3 * IDLE_TIMEOUT_SECONDS)  # several more sweeps of both processes
    failures = await _failure_events(cluster)
    assert sorted(failures) == sorted(reply["id"] for reply in replies)


async def _failure_events(cluster: Cluster) -> list[str]:
    """The message id of every ``message.updated`` event in the log: one per reply the sweepers failed."""
    connection = await asyncpg.connect(cluster.database_url.replace("+asyncpg", "", 1))
    try:
        rows = await connection.fetch("SELECT payload FROM events WHERE type = 'message.updated' ORDER BY id")
    finally:
        await connection.close()
    messages = [json.loads(row["payload"]) for row in rows]
    assert {message["status"] for message in messages} == {"failed"}
    return [message["id"] for message in messages]
