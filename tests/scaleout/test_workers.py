"""``threadline serve --workers 2`` on PostgreSQL: each worker has its own hub, and the shared bus makes
every stream hear every event, whichever worker holds it (API.md §6 guarantee 7, §7)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.metrics import samples
from tests.support.redis_server import require_redis
from tests.support.server import running_server
from tests.support.sse import SseStream, open_stream
from tests.support.teams import create_workspace
from tests.support.waiting import eventually, until_ready
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

STREAMS = 8
MESSAGES = 10
CONNECTIONS_TO_FIND_BOTH_WORKERS = 40


@pytest.mark.parametrize("bus", ["redis", "postgres"])
async def test_every_stream_hears_every_event_whichever_worker_holds_it(
    database_url: str, tmp_path: Path, bus: str
) -> None:
    if bus == "redis":
        await require_redis()
    async with (
        running_server(database_url, tmp_path, workers=2, event_bus=bus) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as api,
    ):
        alice = await sign_up(api)
        instances: set[str] = set()
        for _ in range(CONNECTIONS_TO_FIND_BOTH_WORKERS):
            # A fresh connection each time, so the kernel may hand it to either worker.
            async with httpx.AsyncClient(base_url=server.url) as fresh:
                stats = await fresh.get("/v1/events/stats", headers=alice.headers)
            instances.add(stats.json()["instance"])
            if len(instances) == 2:
                break
        assert len(instances) == 2, "both workers should answer"

        team = await create_workspace(alice)
        conversation = await create_conversation(alice, team["id"])
        path = f"/v1/conversations/{conversation['id']}/events"
        async with contextlib.AsyncExitStack() as stack:
            streams: list[SseStream] = []
            for _ in range(STREAMS):
                client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
                streams.append(
                    await stack.enter_async_context(open_stream(client, path, headers=alice.headers))
                )
            posted = [await post_message(alice, conversation["id"], f"#{n}") for n in range(MESSAGES)]
            heard = await asyncio.gather(*(_read(stream, MESSAGES) for stream in streams))

    expected = [message["id"] for message in posted]
    for events in heard:
        assert [event["data"]["id"] for event in events] == expected


async def _read(stream: SseStream, count: int) -> list[dict[str, object]]:
    return [(await stream.next()).json() for _ in range(count)]


async def test_metrics_add_up_every_workers_requests_events_batches_and_pools_whichever_is_scraped(
    database_url: str, tmp_path: Path
) -> None:
    await require_redis()
    async with (
        running_server(database_url, tmp_path, workers=2, event_bus="redis") as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as api,
    ):
        alice = await sign_up(api)
        team = await create_workspace(alice)
        conversation = await create_conversation(alice, team["id"])
        posts_by_worker = await _post_from_both_workers(server.url, alice.headers, conversation["id"])
        scrapes = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=server.url) as fresh:
                scrapes.append((await fresh.get("/metrics")).text)
        workers = _workers(server.pid)

    posted = sum(posts_by_worker.values())
    logged = await _logged_event_types(database_url)
    assert logged["message.created"] == posted
    for scrape in scrapes:
        requests = {
            (sample.labels["method"], sample.labels["route"], sample.labels["status"]): sample.value
            for sample in samples(scrape, "threadline_http_requests_total")
        }
        assert requests[("GET", "/v1/events/stats", "200")] == posted, "each scrape counts both workers"
        assert requests[("POST", "/v1/conversations/{conversation_id}/messages", "201")] == posted
        appended = samples(scrape, "threadline_events_appended_total")
        assert {sample.labels["type"]: sample.value for sample in appended} == logged
        [batched] = [
            sample.value
            for sample in samples(scrape, "threadline_batch_size_sum")
            if sample.labels["writer"] == "messages"
        ]
        assert batched == posted
        pids = {sample.labels["pid"] for sample in samples(scrape, "threadline_database_pool_size")}
        assert pids == {str(worker) for worker in workers}, "one pool per live worker"


async def _post_from_both_workers(url: str, headers: dict[str, str], conversation_id: str) -> Counter[str]:
    """Post MESSAGES messages or more, each on a fresh connection, until both workers have taken some; how
    many each took (by instance id, asked on the same connection)."""
    posts: Counter[str] = Counter()
    while len(posts) < 2 or posts.total() < MESSAGES:
        assert posts.total() < CONNECTIONS_TO_FIND_BOTH_WORKERS, "both workers should answer"
        async with httpx.AsyncClient(base_url=url, headers=headers) as fresh:
            instance = (await fresh.get("/v1/events/stats")).json()["instance"]
            response = await fresh.post(
                f"/v1/conversations/{conversation_id}/messages", json={"content": "hi"}
            )
            assert response.status_code == 201, response.text
        posts[instance] += 1
    return posts


async def _logged_event_types(database_url: str) -> Counter[str]:
    database = Database(create_engine(database_url))
    try:
        async with UnitOfWork(database) as uow:
            events = (await uow.events.after(0, limit=10_000)).events
    finally:
        await database.dispose()
    return Counter(event.type.value for event in events)


def _workers(supervisor: int) -> list[int]:
    """The worker processes under uvicorn's supervisor (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def _open_streams(scrape: str) -> float:
    [sample] = samples(scrape, "threadline_sse_open_streams")
    return sample.value


async def test_the_streams_of_killed_workers_stop_counting_as_open(database_url: str, tmp_path: Path) -> None:
    await require_redis()
    async with (
        running_server(database_url, tmp_path, workers=2, event_bus="redis") as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as api,
    ):
        alice = await sign_up(api)
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(STREAMS):
                client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
                await stack.enter_async_context(open_stream(client, "/v1/events", headers=alice.headers))
            assert _open_streams((await api.get("/metrics")).text) == STREAMS
            killed = _workers(server.pid)
            for worker in killed:
                os.kill(worker, signal.SIGKILL)

            async def replaced() -> bool:
                workers = _workers(server.pid)
                return len(workers) == 2 and not set(workers) & set(killed)

            await eventually(replaced, within=30)
        await until_ready(api)

        assert _open_streams((await api.get("/metrics")).text) == 0
