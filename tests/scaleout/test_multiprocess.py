"""Two real ``threadline serve`` processes on one PostgreSQL database, sharing the Redis or the PostgreSQL
bus (API.md §6 guarantee 7): a subscriber on either process hears every event written through either, once,
in order, across a move between processes, a crashed process and a restarted Redis."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.redis_server import REDIS_URL, PrivateRedis, require_redis
from tests.support.server import ServerProcess
from tests.support.sse import SseEvent, SseStream, open_stream
from tests.support.waiting import eventually, until_ready

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

MESSAGES_PER_PROCESS = 20
TROUBLE_AFTER = 6
"""Messages posted before a subscriber moves, a process is killed or Redis restarts: mid-burst."""
HEARING_SECONDS = 30.0


@dataclass
class Cluster:
    """Two server processes on one database, with the same user, Alice, signed in on each."""

    database_url: str
    servers: list[ServerProcess]
    alice: list[Account]
    conversation_id: str

    def stream(
        self, process: int, *, after: str | None = None
    ) -> contextlib.AbstractAsyncContextManager[SseStream]:
        """Alice's own stream on one process, resuming after event id ``after`` when given."""
        alice = self.alice[process]
        resume = {"Last-Event-ID": after} if after else {}
        return open_stream(alice.client, "/v1/events", headers=alice.headers | resume)

    async def post(self, process: int, count: int) -> None:
        """Post ``count`` messages through one process, one after another."""
        for number in range(count):
            await post_message(self.alice[process], self.conversation_id, f"#{number} via {process}")

    async def logged_event_ids(self, *, after: int) -> list[int]:
        """Every committed event, whatever the writers were told: what every subscriber must hear."""
        connection = await asyncpg.connect(self.database_url.replace("+asyncpg", "", 1))
        try:
            rows = await connection.fetch("SELECT id FROM events WHERE id > $1 ORDER BY id", after)
        finally:
            await connection.close()
        return [row["id"] for row in rows]


@contextlib.asynccontextmanager
async def running_cluster(database_url: str, workdir: Path, **settings: object) -> AsyncIterator[Cluster]:
    servers = [ServerProcess(database_url, workdir, **settings) for _ in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        for server in servers:
            stack.push_async_callback(server.stop)
        await asyncio.gather(*(server.start() for server in servers))
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=HEARING_SECONDS))
            for server in servers
        ]
        alice = await sign_up(clients[0], name="Alice")
        workspace = (await alice.post("/v1/workspaces", json={"name": "Team"})).json()
        conversation = await create_conversation(alice, workspace["id"])
        yield Cluster(
            database_url=database_url,
            servers=servers,
            alice=[dataclasses.replace(alice, client=client) for client in clients],
            conversation_id=conversation["id"],
        )


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "postgres"])
async def cluster(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    """Two processes sharing each bus in turn: the machine's Redis, or PostgreSQL itself."""
    settings = {"event_bus": request.param}
    if request.param == "redis":
        await require_redis()
        settings["redis_url"] = REDIS_URL
    async with running_cluster(database_url, tmp_path, **settings) as running:
        yield running


async def test_subscribers_hear_every_event_once_in_order_even_after_moving(cluster: Cluster) -> None:
    async with cluster.stream(0) as on_first, cluster.stream(1) as on_second:
        start = on_first.ready.json()["last_event_id"]
        async with cluster.stream(0) as mover:
            writing = asyncio.gather(*(cluster.post(process, MESSAGES_PER_PROCESS) for process in (0, 1)))
            before_move = [await mover.next(HEARING_SECONDS) for _ in range(TROUBLE_AFTER)]
        async with cluster.stream(1, after=before_move[-1].id) as moved:
            await writing
            expected = await cluster.logged_event_ids(after=start)
            assert len(expected) == 2 * MESSAGES_PER_PROCESS
            assert _ids(before_move) + await _heard(moved, expected) == expected
        for stream in (on_first, on_second):
            assert await _heard(stream, expected) == expected


async def test_a_process_killed_mid_burst_loses_no_committed_event(cluster: Cluster) -> None:
    async def kill_first_process_midway() -> None:
        await cluster.post(1, TROUBLE_AFTER)
        await cluster.servers[0].kill()
        await cluster.post(1, MESSAGES_PER_PROCESS - TROUBLE_AFTER)

    async def post_through_first_until_it_dies() -> None:
        with contextlib.suppress(httpx.TransportError):
            await cluster.post(0, MESSAGES_PER_PROCESS)

    async with cluster.stream(1) as steady:
        start = steady.ready.json()["last_event_id"]
        async with cluster.stream(0) as on_killed:
            await asyncio.gather(post_through_first_until_it_dies(), kill_first_process_midway())
            before_crash = await on_killed.rest(HEARING_SECONDS)
        expected = await cluster.logged_event_ids(after=start)
        assert await _heard(steady, expected) == expected

    async with cluster.stream(1, after=before_crash[-1].id if before_crash else str(start)) as resumed:
        assert _ids(before_crash) + await _heard(resumed, expected) == expected


@pytest.mark.redis
async def test_restarting_redis_mid_burst_drops_no_event(database_url: str, tmp_path: Path) -> None:
    async with (
        PrivateRedis.running(tmp_path) as redis,
        running_cluster(database_url, tmp_path, event_bus="redis", redis_url=redis.url) as cluster,
    ):

        async def restart_redis_midway() -> None:
            await cluster.post(1, TROUBLE_AFTER)
            await redis.stop()
            await cluster.post(1, TROUBLE_AFTER)
            await redis.start()
            await cluster.post(1, MESSAGES_PER_PROCESS - 2 * TROUBLE_AFTER)

        async with cluster.stream(0) as on_first, cluster.stream(1) as on_second:
            start = on_first.ready.json()["last_event_id"]
            await asyncio.gather(cluster.post(0, MESSAGES_PER_PROCESS), restart_redis_midway())
            expected = await cluster.logged_event_ids(after=start)
            for stream in (on_first, on_second):
                assert await _heard(stream, expected) == expected
        for alice in cluster.alice:
            await until_ready(alice.client)


async def _heard(stream: SseStream, expected: list[int]) -> list[int | None]:
    """The ids a stream delivers up to the last expected one (a gap makes it wait, and time out)."""
    last = str(expected[-1])
    return _ids(await stream.until(lambda event: event.id == last, within=HEARING_SECONDS))


def _ids(events: list[SseEvent]) -> list[int | None]:
    return [int(event.id) if event.id else None for event in events]


async def test_revoking_an_api_key_through_one_process_ends_its_streams_on_the_other(
    database_url: str, tmp_path: Path
) -> None:
    """No event says a key was revoked: each process finds out from the database by itself."""
    async with running_cluster(database_url, tmp_path, event_bus="postgres") as cluster:
        first, second = cluster.alice
        key = (await first.post("/v1/auth/api-keys", json={"name": "integration"})).json()
        by_key = {"Authorization": f"Bearer {key['key']}"}
        async with open_stream(second.client, "/v1/events", headers=by_key) as on_second:
            assert (await first.delete(f"/v1/auth/api-keys/{key['id']}")).status_code == 204
            ending = await on_second.rest(HEARING_SECONDS)

    assert [event.event for event in ending] == ["revoked"]


async def test_a_logged_out_token_is_refused_by_every_process_within_a_poll_period(
    database_url: str, tmp_path: Path
) -> None:
    """Each process has met the sign-in (and holds it in memory); logging out through one ends it at the
    other within its poll period, for requests and for the stream it holds open."""
    async with running_cluster(database_url, tmp_path, event_bus="postgres") as cluster:
        first, second = cluster.alice
        assert (await second.get("/v1/users/me")).status_code == 200
        async with cluster.stream(1) as on_second:
            assert (await first.post("/v1/auth/logout")).status_code == 204
            assert (await first.get("/v1/users/me")).status_code == 401
            ending = await on_second.rest(HEARING_SECONDS)
            await eventually(partial(_refused, second), within=HEARING_SECONDS)

    assert [event.event for event in ending] == ["revoked"]


async def _refused(account: Account) -> bool:
    return (await account.get("/v1/users/me")).status_code == 401
