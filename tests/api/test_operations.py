"""Operational endpoints (API.md §7): liveness, readiness (and its 503), Prometheus metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_SECRET_KEY
from tests.support import databases
from tests.support.accounts import PASSWORD, Account, sign_up
from tests.support.metrics import samples
from tests.support.problems import assert_problem
from tests.support.proxy import TcpProxy
from threadline.app import create_app
from threadline.settings import Settings


@pytest.fixture
async def database_proxy(postgres_dsn: str) -> AsyncIterator[TcpProxy]:
    async with TcpProxy.in_front_of(databases.sqlalchemy_url(postgres_dsn)) as proxy:
        yield proxy


@pytest.fixture
async def proxied_client(database_proxy: TcpProxy) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose PostgreSQL is reached through a proxy the test can cut."""
    settings = Settings(
        _env_file=None,
        database_url=database_proxy.url,
        secret_key=TEST_SECRET_KEY,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_health_is_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_database_and_event_bus(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "event_bus": "ok"}


async def test_ready_and_requests_are_503_until_the_migrations_are_applied(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """As in a server started while its database was away: it answers, but runs nothing against tables
    that may not exist yet."""
    app.state.resources.database.schema_ready = False

    body = assert_problem(await client.get("/ready"), 503, "unavailable")
    assert (body["database"], body["event_bus"], body["migrations"]) == ("ok", "ok", "pending")
    assert "migrations pending" in body["detail"]
    registered = await client.post(
        "/v1/auth/register", json={"email": "e@example.com", "password": PASSWORD, "name": "E"}
    )
    assert_problem(registered, 503, "unavailable")
    assert (await client.get("/health")).status_code == 200

    app.state.resources.database.schema_ready = True
    assert (await client.get("/ready")).status_code == 200


async def test_the_served_app_migrates_a_new_database_before_it_serves(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'new.db'}",
        secret_key=TEST_SECRET_KEY,
    )
    app = create_app(settings, migrate=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/ready")).status_code == 200
            registered = await client.post(
                "/v1/auth/register", json={"email": "e@example.com", "password": PASSWORD, "name": "E"}
            )
            assert registered.status_code == 201, registered.text


@pytest.mark.postgres
async def test_ready_is_503_naming_the_database_while_it_is_unreachable(
    proxied_client: httpx.AsyncClient, database_proxy: TcpProxy
) -> None:
    assert (await proxied_client.get("/ready")).status_code == 200

    database_proxy.cut()
    down = await proxied_client.get("/ready")
    database_proxy.restore()

    body = assert_problem(down, 503, "unavailable")
    assert (body["database"], body["event_bus"]) == ("unavailable", "ok")
    assert "database" in body["detail"]
    assert (await proxied_client.get("/ready")).status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["/v1/auth/register", "/v1/auth/login"])
async def test_an_unreachable_database_is_503_not_500(
    proxied_client: httpx.AsyncClient,
    database_proxy: TcpProxy,
    path: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database_proxy.cut()

    response = await proxied_client.post(path, json={"email": "e@example.com", "password": PASSWORD})

    body = assert_problem(response, 503, "unavailable")
    assert (await proxied_client.get("/health")).status_code == 200
    # The operator's log says what it was, and which request.
    [logged] = [record for record in caplog.records if record.getMessage().startswith("answering 503")]
    assert logged.levelname == "WARNING"
    assert "(" in logged.getMessage()
    assert getattr(logged, "request_id", None) == body["request_id"]


async def test_metrics_count_requests_by_route_template_and_status(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, name="Alice")  # over HTTP: its login is one of the requests counted
    workspace_id = uuid4()
    for _ in range(2):
        assert (await alice.get(f"/v1/workspaces/{workspace_id}")).status_code == 404
    await client.get(f"/v1/no-such-thing/{workspace_id}")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert str(workspace_id) not in response.text
    counts = {
        (sample.labels["method"], sample.labels["route"], sample.labels["status"]): sample.value
        for sample in samples(response.text, "threadline_http_requests_total")
    }
    assert counts[("GET", "/v1/workspaces/{workspace_id}", "404")] == 2
    assert counts[("POST", "/v1/auth/login", "200")] == 1
    assert counts[("GET", "<unmatched>", "404")] == 1


async def test_metrics_have_a_latency_histogram_per_route(client: httpx.AsyncClient, alice: Account) -> None:
    await alice.get("/v1/users/me")

    text = (await client.get("/metrics")).text

    buckets = [
        sample
        for sample in samples(text, "threadline_http_request_duration_seconds_bucket")
        if sample.labels["route"] == "/v1/users/me"
    ]
    assert len(buckets) > 1
    assert max(sample.value for sample in buckets if sample.labels["le"] == "+Inf") == 1
