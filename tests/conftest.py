"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable), the app and a client."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support import databases
from tests.support.accounts import Account
from tests.support.seed import TEST_CLIENT_ADDRESS, add_account
from threadline.app import create_app
from threadline.database.engine import Database, create_engine
from threadline.database.migrate import upgrade_async
from threadline.settings import Settings

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"


def _worker_group(item: pytest.Item) -> str | None:
    """Which tests must share one xdist worker (``make test`` runs several; docs/testing.md): the browser
    tests share one server and browser per session; a module that starts servers once for its tests keeps
    them together; and every test on the machine's shared Redis hears the others' rings on its channel."""
    path = item.path.as_posix()
    if "/tests/browser/" in path:
        return "browser"
    if getattr(getattr(item, "module", None), "REDIS_URL", None) is not None:
        return "shared-redis"
    if "/tests/e2e/" in path or "/tests/client/" in path:
        return item.nodeid.split("::", 1)[0]
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = _worker_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (cheaper than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    await upgrade_async(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
async def postgres_dsn() -> AsyncIterator[str]:
    """A migrated PostgreSQL database for the whole session, dropped at the end."""
    async with databases.migrated_postgres_database() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty database: each test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "threadline.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    # A synchronous fixture: no event loop is running here, so a short-lived one can empty the tables.
    asyncio.run(databases.empty_postgres(dsn))
    return databases.sqlalchemy_url(dsn)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The engine and session factory on ``database_url``, for tests below the HTTP layer."""
    database = Database(create_engine(database_url))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    """Settings for a test app; keyword arguments override the test defaults."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": database_url,
            "secret_key": TEST_SECRET_KEY,
            "password_hash_time_cost": 1,
            "password_hash_memory_kib": 64,
            "sse_heartbeat_seconds": 15,
            **overrides,
        }
        return Settings(_env_file=None, **values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(TEST_CLIENT_ADDRESS, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def alice(app: FastAPI, client: httpx.AsyncClient) -> Account:
    """Signed up and logged in, written straight to the database (tests/support/seed.py): tests about
    signing up call ``sign_up`` themselves."""
    return await add_account(app, client, name="Alice")


@pytest.fixture
async def bob(app: FastAPI, client: httpx.AsyncClient) -> Account:
    return await add_account(app, client, name="Bob")
