"""The Redis and PostgreSQL buses against their real servers: rings reach every process, outages heal."""

from __future__ import annotations

import asyncio

from tests.scaleout.conftest import HEARING_TIMEOUT_SECONDS, BusServer, listening
from tests.support.proxy import TcpProxy
from threadline.events.bus import CATCH_UP, EventBus


async def test_every_process_hears_every_ring(bus_server: BusServer) -> None:
    async with listening(bus_server.bus()) as first, listening(bus_server.bus()) as second:
        await first.hears(CATCH_UP)
        await second.hears(CATCH_UP)

        await first.bus.ring(41)
        await second.bus.ring(42)

        for listener in (first, second):
            await listener.hears(41)
            await listener.hears(42)


async def test_bus_rides_out_outages_and_catches_up_after_each(bus_server: BusServer) -> None:
    async with TcpProxy.in_front_of(bus_server.url) as proxy:
        proxy.cut()
        async with listening(bus_server.bus(proxy.url)) as listener:
            assert not await listener.bus.check()
            await listener.bus.ring(1)  # lost, and must not raise: the write it follows is committed

            proxy.restore()
            await listener.hears(CATCH_UP)
            assert await listener.bus.check()

            proxy.cut()
            await _until_unreachable(listener.bus)
            await listener.bus.ring(2)

            proxy.restore()
            await listener.hears(CATCH_UP)
            await listener.bus.ring(3)
            await listener.hears(3)
            assert await listener.bus.check()


async def _until_unreachable(bus: EventBus) -> None:
    async with asyncio.timeout(HEARING_TIMEOUT_SECONDS):
        while await bus.check():
            await asyncio.sleep(0.05)
