"""When PostgreSQL or Redis goes away, ``/ready`` names it, writes fail cleanly or carry on, and all heals.

Each service sits behind a private proxy that the test cuts: the shared servers stay up for everyone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.event_log import stored_events
from tests.support.proxy import TcpProxy
from tests.support.redis_server import REDIS_URL, require_redis
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unavailable
from threadline.settings import Settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

RECOVERY_TIMEOUT_SECONDS = 30


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
def settings(make_settings: Callable[..., Settings], database_proxy: TcpProxy, redis_proxy: TcpProxy) -> Settings:
    return make_settings(database_url=database_proxy.url, event_bus="redis", redis_url=redis_proxy.url)


async def test_database_outage_fails_writes_with_503_until_it_returns(
    client: httpx.AsyncClient, alice: Account, database_proxy: TcpProxy
) -> None:
    database_proxy.cut()

    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert (ready.json()["database"], ready.json()["event_bus"]) == ("unavailable", "ok")
    refused = await alice.post("/v1/workspaces", json={"name": "During the outage"})
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "unavailable"

    database_proxy.restore()
    await _until_ready(client)
    assert (await alice.post("/v1/workspaces", json={"name": "After the outage"})).status_code == 201


@pytest.mark.parametrize("lost_before", ["statement", "commit", "close"])
async def test_a_connection_lost_inside_a_unit_of_work_is_unavailable(
    database_proxy: TcpProxy, lost_before: str
) -> None:
    database = Database(create_engine(database_proxy.url))
    try:
        with pytest.raises(Unavailable):
            async with UnitOfWork(database) as uow:
                await uow.events.bounds()
                database_proxy.cut()
                if lost_before == "statement":
                    await uow.events.bounds()
                elif lost_before == "commit":
                    await uow.commit()
    finally:
        await database.dispose()


async def test_redis_outage_leaves_writes_and_the_log_whole(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, redis_proxy: TcpProxy
) -> None:
    workspace = (await alice.post("/v1/workspaces", json={"name": "Team"})).json()
    redis_proxy.cut()

    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert (ready.json()["database"], ready.json()["event_bus"]) == ("ok", "unavailable")
    renamed = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert [event.data["name"] for event in await stored_events(app)] == ["Renamed"]

    redis_proxy.restore()
    await _until_ready(client)


async def _until_ready(client: httpx.AsyncClient) -> None:
    async with asyncio.timeout(RECOVERY_TIMEOUT_SECONDS):
        while (await client.get("/ready")).status_code != 200:
            await asyncio.sleep(0.1)
