"""The Redis and PostgreSQL buses against their real servers: rings reach every process, outages heal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tests.support.databases import sqlalchemy_url
from tests.support.proxy import TcpProxy
from tests.support.redis_server import REDIS_URL, require_redis
from tests.support.waiting import eventually
from threadline.events.bus import CATCH_UP, EventBus
from threadline.events.buses import build_bus
from threadline.settings import EventBusKind, Settings

HEARING_SECONDS = 30

RECONNECTING_LOGGER = "threadline.events.reconnecting"
HANG_SECONDS = 10
"""Only a hang takes this long."""

SILENCE_NOTICED_SECONDS = 10
"""A listener proves its idle connection every 5 s and gives it 2 s to answer; the rest is slack."""


@dataclass(frozen=True)
class BusServer:
    """The server behind one kind of bus: ``url`` is what the bus's setting would hold."""

    kind: EventBusKind
    url: str

    def bus(self, url: str | None = None) -> EventBus:
        """A bus of this kind on ``url`` (by default the server itself), built the way the app builds it."""
        setting = "redis_url" if self.kind is EventBusKind.REDIS else "database_url"
        values = {"event_bus": self.kind.value, setting: url or self.url}
        return build_bus(Settings(_env_file=None, **values))  # type: ignore[arg-type]


@dataclass
class Listener:
    """A started bus and every ring it has heard, in order."""

    bus: EventBus
    heard: asyncio.Queue[int] = field(default_factory=asyncio.Queue)

    async def hears(self, event_id: int, within: float = HEARING_SECONDS) -> None:
        """Wait for the ring ``event_id``, passing over others (other tests ring the shared Redis too)."""
        async with asyncio.timeout(within):
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


@pytest.fixture
async def proxied(bus_server: BusServer) -> AsyncIterator[tuple[TcpProxy, Listener]]:
    """A listening bus, reaching its server through a proxy the test can cut."""
    async with (
        TcpProxy.in_front_of(bus_server.url) as proxy,
        listening(bus_server.bus(proxy.url)) as listener,
    ):
        await listener.hears(CATCH_UP)
        yield proxy, listener


async def test_every_process_hears_every_ring(bus_server: BusServer) -> None:
    async with listening(bus_server.bus()) as first, listening(bus_server.bus()) as second:
        await first.hears(CATCH_UP)
        await second.hears(CATCH_UP)

        # Rung from two processes at once, the rings may be heard in either order.
        first.bus.ring(41)
        for listener in (first, second):
            await listener.hears(41)
        second.bus.ring(42)
        for listener in (first, second):
            await listener.hears(42)


async def test_bus_rides_out_outages_and_catches_up_after_each(bus_server: BusServer) -> None:
    async with TcpProxy.in_front_of(bus_server.url) as proxy:
        proxy.cut()
        async with listening(bus_server.bus(proxy.url)) as listener:
            assert not await listener.bus.check()
            listener.bus.ring(1)  # lost, and must not raise: the write it follows is committed

            proxy.restore()
            await listener.hears(CATCH_UP)
            assert await listener.bus.check()

            proxy.cut()
            await eventually(lambda: _unreachable(listener.bus))
            listener.bus.ring(2)

            proxy.restore()
            await listener.hears(CATCH_UP)
            listener.bus.ring(3)
            await listener.hears(3)
            assert await listener.bus.check()


async def test_bus_notices_a_silent_listening_connection_and_is_unready_until_it_listens_again(
    bus_server: BusServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        TcpProxy.in_front_of(bus_server.url) as proxy,
        listening(bus_server.bus(proxy.url)) as listener,
    ):
        await listener.hears(CATCH_UP)  # the listener holds the proxy's first connection
        assert await listener.bus.check()  # and rings and checks now hold its second

        with caplog.at_level(logging.INFO, logger=RECONNECTING_LOGGER):
            # The listener's connection goes silent, as behind a dead NAT entry, and it cannot come back.
            proxy.freeze(0)
            proxy.refuse()
            await eventually(lambda: _logged(caplog, "not listening"), within=SILENCE_NOTICED_SECONDS)
            # The server still answers the other connection, but a bus that hears nothing is not ready.
            assert not await listener.bus.check()

            proxy.restore()
            await listener.hears(CATCH_UP, within=SILENCE_NOTICED_SECONDS)
            assert await listener.bus.check()
            listener.bus.ring(7)
            await listener.hears(7, within=2)

    # Once when it stopped listening, once when it listened again, as for any other outage.
    stopped, resumed = (
        record.getMessage() for record in caplog.records if record.name == RECONNECTING_LOGGER
    )
    assert "event bus: not listening (TimeoutError" in stopped
    assert resumed.endswith("event bus: listening again")


async def test_rings_lost_in_an_outage_are_logged_once_and_their_return_once(
    proxied: tuple[TcpProxy, Listener], caplog: pytest.LogCaptureFixture
) -> None:
    proxy, listener = proxied
    with caplog.at_level(logging.WARNING, logger=RECONNECTING_LOGGER):
        proxy.cut()
        listener.bus.ring(11)
        await eventually(lambda: _logged(caplog, "ring for event 11 lost"), within=HANG_SECONDS)
        listener.bus.ring(12)
        assert not await listener.bus.check()  # meanwhile the ring of 12 is tried, and lost

        proxy.restore()
        await listener.hears(CATCH_UP)
        listener.bus.ring(13)
        await listener.hears(13)
        await eventually(lambda: _logged(caplog, "rings go through again"), within=HANG_SECONDS)

    about_rings = [
        record.getMessage()
        for record in caplog.records
        if record.name == RECONNECTING_LOGGER
        and any(about in record.getMessage() for about in ("ring for event", "rings go through"))
    ]
    assert len(about_rings) == 2, about_rings
    assert about_rings[1].endswith("rings go through again, 2 lost")


async def test_a_bus_closes_promptly_when_its_server_has_gone_silent(bus_server: BusServer) -> None:
    """Shutdown must not wait for a goodbye that never comes: the process would hang on SIGTERM."""
    async with TcpProxy.in_front_of(bus_server.url) as proxy:
        listener = Listener(bus_server.bus(proxy.url))
        await listener.bus.start(listener.heard.put_nowait)
        await listener.hears(CATCH_UP)
        assert await listener.bus.check()  # a second connection, for rings and checks, is open too
        proxy.partition()
        async with asyncio.timeout(SILENCE_NOTICED_SECONDS):
            await listener.bus.close()


@pytest.mark.redis
async def test_a_redis_ring_into_silence_is_given_up_without_holding_up_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await require_redis()
    redis = BusServer(EventBusKind.REDIS, REDIS_URL)
    async with TcpProxy.in_front_of(redis.url) as proxy, listening(redis.bus(proxy.url)) as listener:
        await listener.hears(CATCH_UP)
        assert await listener.bus.check()
        proxy.freeze(0)
        proxy.freeze(1)  # the connection rings go through
        proxy.refuse()

        with caplog.at_level(logging.WARNING, logger=RECONNECTING_LOGGER):
            # Returns at once (the publish waits in the background; ``ring`` is not even a coroutine),
            # and must not raise: the write it follows is committed, and the hubs' polls find the event.
            listener.bus.ring(8)
            # Given up rather than left waiting on the silent connection for good.
            await eventually(lambda: _logged(caplog, "ring for event 8 lost"), within=HANG_SECONDS)


async def _unreachable(bus: EventBus) -> bool:
    return not await bus.check()


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)
