"""``threadline serve`` started while PostgreSQL or Redis is away: it serves ``/health``, answers ``/ready``
and requests 503 until the service returns, then migrates and serves, logging one warning each way.

Each service sits behind a private proxy, cut before the process starts: the shared servers stay up.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory

from tests.support import databases
from tests.support.accounts import sign_up
from tests.support.problems import assert_problem
from tests.support.proxy import TcpProxy
from tests.support.redis_server import REDIS_URL, require_redis
from tests.support.server import ServerProcess
from tests.support.sse import open_stream
from tests.support.waiting import eventually
from threadline.database.migrate import alembic_config

pytestmark = pytest.mark.e2e

QUICK_POLL = {"event_poll_seconds": 0.1}
HUB = "threadline.events.hub"
MIGRATOR = "threadline.database.migrate"
BUS = "threadline.events.reconnecting"


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    """An empty PostgreSQL database, never migrated; yields its asyncpg DSN."""
    await databases.require_postgres()
    dsn = await databases.create_postgres_database()
    try:
        yield dsn
    finally:
        await databases.drop_postgres_database(dsn)


@pytest.mark.postgres
async def test_a_server_started_without_its_database_migrates_and_serves_once_it_returns(
    fresh_database: str, tmp_path: Path
) -> None:
    async with TcpProxy.in_front_of(fresh_database) as proxy:
        proxy.cut()
        server = ServerProcess(databases.sqlalchemy_url(proxy.url), tmp_path, **QUICK_POLL)
        async with _alive(server) as client:
            await _assert_unready(client, database="unavailable", migrations="pending")
            assert_problem(await _register(client), 503, "unavailable")

            proxy.restore()
            await server.until_ready(within=30)
            assert await _schema_version(fresh_database) == _head()
            await _sign_up_post_and_hear_it(client)

    log = server.full_log()
    assert "Traceback" not in log, log
    for logger in (HUB, MIGRATOR):
        assert _warnings(log, logger) == ["failed", "works again"], log


@pytest.mark.redis
async def test_a_server_started_without_redis_is_unready_until_it_returns_then_carries_events(
    database_url: str, tmp_path: Path
) -> None:
    await require_redis()
    async with TcpProxy.in_front_of(REDIS_URL) as proxy:
        proxy.cut()
        # The hub polls the log only every 10 minutes: only rings through Redis deliver events in time.
        server = ServerProcess(
            database_url, tmp_path, event_bus="redis", redis_url=proxy.url, event_poll_seconds=600
        )
        async with _alive(server) as client:
            body = await _assert_unready(client, database="ok", event_bus="unavailable")
            assert "redis" in body["detail"]
            assert (await _register(client)).status_code == 201, "writes do not wait for the bus"

            proxy.restore()
            await server.until_ready(within=30)
            await _sign_up_post_and_hear_it(client)

    log = server.full_log()
    assert "Traceback" not in log, log
    assert _warnings(log, BUS) == ["not listening", "listening again"], log


@contextlib.asynccontextmanager
async def _alive(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """Start the process and wait until it answers ``/health`` (it starts without its service); a client
    of it. The process is stopped when the block ends."""
    await server.spawn()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

            async def alive() -> bool:
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(alive, within=30)
            yield client
    finally:
        await server.stop()


async def _assert_unready(client: httpx.AsyncClient, **states: str) -> dict[str, Any]:
    """``/ready`` answers 503 ``unavailable`` with these members; its body."""
    body = assert_problem(await client.get("/ready"), 503, "unavailable")
    assert {name: body[name] for name in states} == states
    return body


async def _register(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(
        "/v1/auth/register",
        json={"email": "early@example.com", "password": "correct horse battery", "name": "Early"},
    )


async def _sign_up_post_and_hear_it(client: httpx.AsyncClient) -> None:
    """The whole path works: an account, a workspace, and the event of a change heard on its stream."""
    alice = await sign_up(client, name="Alice")
    workspace = (await alice.post("/v1/workspaces", json={"name": "Team"})).json()
    async with open_stream(client, "/v1/events", headers=alice.headers) as stream:
        renamed = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "Renamed"})
        assert renamed.status_code == 200, renamed.text
        assert (await stream.next(within=5)).json()["data"]["name"] == "Renamed"


async def _schema_version(dsn: str) -> str | None:
    connection = await asyncpg.connect(dsn)
    try:
        version: str | None = await connection.fetchval("SELECT version_num FROM alembic_version")
        return version
    finally:
        await connection.close()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _warnings(log: str, logger: str) -> list[str]:
    """What each warning of ``logger`` says happened: the outage, then its end."""
    said = re.findall(rf"WARNING {re.escape(logger)}: (.*)", log)
    return [_what(line) for line in said]


def _what(line: str) -> str:
    for known in ("works again", "failed", "listening again", "not listening"):
        if known in line:
            return known
    return line
