"""When PostgreSQL or Redis goes away, ``/ready`` names it, writes fail cleanly or carry on, and all heals.

Each service sits behind a private proxy that the test cuts: the shared servers stay up for everyone else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account, sign_up
from tests.support.proxy import TcpProxy
from tests.support.redis_server import REDIS_URL, require_redis
from tests.support.server import serving, streaming_client
from tests.support.sse import SseStream, open_stream
from tests.support.waiting import answers_ready, eventually, until_ready
from threadline.app import create_app
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unavailable
from threadline.events.hub import StreamHub
from threadline.events.subscription import StreamKind
from threadline.settings import Settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


@pytest.fixture
async def database_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    async with TcpProxy.in_front_of(database_url) as proxy:
        yield proxy


@pytest.fixture
async def redis_proxy() -> AsyncIterator[TcpProxy]:
    await require_redis()
    async with TcpProxy.in_front_of(REDIS_URL) as proxy:
        yield proxy


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    database_proxy: TcpProxy,
    redis_proxy: TcpProxy,
) -> Settings:
    """Both services behind their proxies; a test may override more settings through an indirect parameter."""
    overrides: dict[str, object] = getattr(request, "param", {})
    return make_settings(
        database_url=database_proxy.url, event_bus="redis", redis_url=redis_proxy.url, **overrides
    )


@pytest.fixture
async def workspace(alice: Account) -> dict[str, Any]:
    created = await alice.post("/v1/workspaces", json={"name": "Team"})
    assert created.status_code == 201, created.text
    workspace: dict[str, Any] = created.json()
    return workspace


@pytest.fixture
async def stream(app: FastAPI, alice: Account, workspace: dict[str, Any]) -> AsyncIterator[SseStream]:
    """Alice's event stream over real HTTP, open from before the outage until the test ends."""
    async with (
        serving(app) as url,
        httpx.AsyncClient(base_url=url) as http,
        open_stream(http, "/v1/events", headers=alice.headers) as opened,
    ):
        yield opened


async def test_database_outage_fails_writes_with_503_until_it_returns(
    client: httpx.AsyncClient,
    alice: Account,
    workspace: dict[str, Any],
    stream: SseStream,
    database_proxy: TcpProxy,
) -> None:
    database_proxy.cut()

    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert (ready.json()["database"], ready.json()["event_bus"]) == ("unavailable", "ok")
    refused = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "During the outage"})
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "unavailable"

    database_proxy.restore()
    await until_ready(client)
    renamed = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "After the outage"})
    assert renamed.status_code == 200, renamed.text
    # The stream opened before the outage is still there, and its hub reads the log again.
    assert (await stream.next()).json()["data"]["name"] == "After the outage"


@pytest.mark.parametrize("lost_before", ["statement", "commit", "close"])
async def test_a_connection_lost_inside_a_unit_of_work_is_unavailable(
    database_proxy: TcpProxy, lost_before: str
) -> None:
    database = Database(create_engine(database_proxy.url))

    async def read_then_lose_the_connection() -> None:
        async with UnitOfWork(database) as uow:
            await uow.events.bounds()
            database_proxy.cut()
            if lost_before == "statement":
                await uow.events.bounds()
            elif lost_before == "commit":
                await uow.commit()

    try:
        with pytest.raises(Unavailable):
            await read_then_lose_the_connection()
    finally:
        await database.dispose()


async def test_redis_outage_delays_no_write_and_no_event(
    client: httpx.AsyncClient,
    alice: Account,
    workspace: dict[str, Any],
    stream: SseStream,
    redis_proxy: TcpProxy,
) -> None:
    redis_proxy.cut()

    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert (ready.json()["database"], ready.json()["event_bus"]) == ("ok", "unavailable")
    renamed = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "During the outage"})
    assert renamed.status_code == 200, renamed.text
    # The ring is lost, but the hub's poll of the log still finds the event.
    assert (await stream.next()).json()["data"]["name"] == "During the outage"

    redis_proxy.restore()
    await until_ready(client)


@pytest.mark.parametrize("settings", [{"event_poll_seconds": 600}], indirect=True)
async def test_a_silent_redis_subscription_is_unready_until_it_is_replaced(
    client: httpx.AsyncClient,
    alice: Account,
    workspace: dict[str, Any],
    stream: SseStream,
    redis_proxy: TcpProxy,
) -> None:
    # The app's first Redis connection is its bus's subscription; requests have opened the second by now.
    await until_ready(client)
    redis_proxy.freeze(0)  # open, carrying nothing: a partition, or a dead NAT entry
    redis_proxy.refuse()  # and no new subscription can be made yet

    # Within a keepalive and a ping's timeout, although Redis still answers the other connection.
    await eventually(partial(_bus_unavailable, client), within=10)

    redis_proxy.restore()
    await eventually(partial(answers_ready, client), within=10)
    renamed = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "Heard through Redis"})
    assert renamed.status_code == 200, renamed.text
    # The hub polls the log only every 10 minutes here, so only the new subscription can deliver this.
    assert (await stream.next(within=5)).json()["data"]["name"] == "Heard through Redis"


async def _bus_unavailable(client: httpx.AsyncClient) -> bool:
    ready = await client.get("/ready")
    return ready.status_code == 503 and (ready.json()["database"], ready.json()["event_bus"]) == (
        "ok",
        "unavailable",
    )


@pytest.mark.parametrize("bus", ["postgres", "redis"])
async def test_an_app_started_while_its_database_is_down_serves_streams_once_it_returns(
    make_settings: Callable[..., Settings], database_proxy: TcpProxy, redis_proxy: TcpProxy, bus: str
) -> None:
    """Nothing in the lifespan needs the database: the hub, and the bus if it is PostgreSQL, wait for it."""
    database_proxy.cut()
    app = create_app(
        make_settings(
            database_url=database_proxy.url, event_bus=bus, redis_url=redis_proxy.url, event_poll_seconds=0.1
        )
    )
    async with app.router.lifespan_context(app), streaming_client(app) as client:
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unavailable"

        database_proxy.restore()
        await until_ready(client)
        alice = await sign_up(client, name="Alice")
        created = await alice.post("/v1/workspaces", json={"name": "Team"})
        async with open_stream(client, "/v1/events", headers=alice.headers) as stream:
            for name in ("Renamed", "Renamed again"):
                await alice.patch(f"/v1/workspaces/{created.json()['id']}", json={"name": name})
            # Each once, in order.
            heard = [await stream.next(), await stream.next()]
            assert [(event.event, event.json()["data"]["name"]) for event in heard] == [
                ("workspace.updated", "Renamed"),
                ("workspace.updated", "Renamed again"),
            ]


async def test_the_hub_logs_an_outage_once_and_its_end_once(
    database_proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(create_engine(database_proxy.url))
    hub = StreamHub(database, encode=lambda event: b"", queue_size=5, poll_seconds=0.02)
    await hub.start()
    # An open stream, whose sign-in the hub checks at each poll as well: that fails too.
    hub.subscribe(StreamKind.USER, user_id=uuid4(), topic_id=None, sign_in_id=uuid4())
    try:
        with caplog.at_level(logging.INFO, logger="threadline.events.hub"):
            database_proxy.cut()
            await asyncio.sleep(0.5)  # about 25 polls, each failing
            database_proxy.restore()
            await eventually(partial(_hub_logged, caplog, 2), within=10)
            await asyncio.sleep(0.2)  # and the polls after recovering
    finally:
        await hub.close()
        await database.dispose()

    # An outage is an expected state: a warning each way, and no traceback.
    failed, recovered = (record for record in caplog.records if record.name == "threadline.events.hub")
    assert (failed.levelno, failed.exc_info) == (logging.WARNING, None)
    assert "The database is unavailable" in failed.getMessage()
    assert "works again" in recovered.getMessage()


async def _hub_logged(caplog: pytest.LogCaptureFixture, count: int) -> bool:
    return sum(record.name == "threadline.events.hub" for record in caplog.records) >= count
