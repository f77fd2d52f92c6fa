"""Fixtures for scale-out tests: each shared event bus, pointed at its real server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tests.support.databases import sqlalchemy_url
from tests.support.redis_server import REDIS_URL, require_redis
from threadline.app import build_bus
from threadline.events.bus import EventBus
from threadline.settings import EventBusKind, Settings

HEARING_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class BusServer:
    """The server behind one kind of bus: ``url`` is what the bus's setting would hold."""

    kind: EventBusKind
    url: str

    def settings(self, url: str | None = None) -> dict[str, str]:
        """The settings that select this bus on ``url`` (by default the server itself)."""
        setting = "redis_url" if self.kind is EventBusKind.REDIS else "database_url"
        return {"event_bus": self.kind.value, setting: url or self.url}

    def bus(self, url: str | None = None) -> EventBus:
        return build_bus(Settings(_env_file=None, **self.settings(url)))  # type: ignore[arg-type]


@dataclass
class Listener:
    """A started bus and every ring it has heard, in order."""

    bus: EventBus
    heard: asyncio.Queue[int] = field(default_factory=asyncio.Queue)

    async def hears(self, event_id: int) -> None:
        """Wait for the ring ``event_id``, passing over others (other tests ring the shared Redis too)."""
        async with asyncio.timeout(HEARING_TIMEOUT_SECONDS):
            while await self.heard.get() != event_id:
                pass


@contextlib.asynccontextmanager
async def listening(bus: EventBus) -> AsyncIterator[Listener]:
    listener = Listener(bus)
    await bus.start(listener.heard.put_nowait)
    try:
        yield listener
    finally:
        await bus.close()


@pytest.fixture(
    params=[
        pytest.param(EventBusKind.REDIS, marks=pytest.mark.redis),
        pytest.param(EventBusKind.POSTGRES, marks=pytest.mark.postgres),
    ]
)
def bus_server(request: pytest.FixtureRequest) -> BusServer:
    """Each shared bus in turn; the PostgreSQL one on the session's throw-away database."""
    if request.param is EventBusKind.REDIS:
        # A synchronous fixture: no event loop is running here, so a short-lived one can probe Redis.
        asyncio.run(require_redis())
        return BusServer(EventBusKind.REDIS, REDIS_URL)
    dsn: str = request.getfixturevalue("postgres_dsn")
    return BusServer(EventBusKind.POSTGRES, sqlalchemy_url(dsn))
