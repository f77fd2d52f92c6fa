"""PostgreSQL refusing every new connection (the database dropped, starting up, out of connections) is an
outage like a cut network: requests answer 503 ``unavailable`` (docs/api-decisions.md), never 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.support import databases
from tests.support.accounts import Account, sign_up
from tests.support.problems import assert_problem
from threadline.app import create_app
from threadline.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    """A migrated database of this test's own, which it may drop."""
    async with databases.migrated_postgres_database() as dsn:
        yield dsn


@pytest.fixture
async def app(make_settings: Callable[..., Settings], own_database: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url=databases.sqlalchemy_url(own_database)))
    async with application.router.lifespan_context(application):
        yield application


async def test_a_database_that_no_longer_exists_answers_503(
    client: httpx.AsyncClient, own_database: str
) -> None:
    alice: Account = await sign_up(client, name="Alice")

    await databases.drop_postgres_database(own_database)

    assert_problem(await alice.get("/v1/users/me"), 503, "unavailable")
    assert_problem(
        await client.post("/v1/auth/login", json={"email": alice.email, "password": "whatever-it-is"}),
        503,
        "unavailable",
    )
    assert (await client.get("/ready")).json()["database"] == "unavailable"
