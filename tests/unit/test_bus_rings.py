"""Rings on a networked bus are published in the background: a slow or silent bus never holds up a write."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from threadline.events.bus import RingHandler
from threadline.events.reconnecting import ReconnectingBus


class StalledBus(ReconnectingBus):
    """A bus whose publishes wait until released, recording what they published."""

    name = "stalled"

    def __init__(self) -> None:
        super().__init__()
        self.released = asyncio.Event()
        self.published: list[int] = []
        self.progressed = asyncio.Event()

    async def _listen(self, on_ring: RingHandler, connected: Callable[[], None]) -> None:
        await asyncio.Event().wait()

    async def _publish(self, event_id: int) -> None:
        await self.released.wait()
        self.published.append(event_id)
        self.progressed.set()

    async def _ping(self) -> None:
        pass

    async def _close(self) -> None:
        pass


async def test_a_ring_returns_before_the_bus_answers_and_rings_meanwhile_wait_as_the_newest() -> None:
    bus = StalledBus()
    try:
        async with asyncio.timeout(1):  # a ring that waited for the stalled bus would never return
            for event_id in (1, 2, 4, 3):
                bus.ring(event_id)
                await asyncio.sleep(0)

        bus.released.set()
        async with asyncio.timeout(5):
            while len(bus.published) < 2:
                bus.progressed.clear()
                await bus.progressed.wait()
        assert bus.published == [1, 4]
    finally:
        await bus.close()


async def test_closing_drops_a_ring_still_waiting_on_the_bus() -> None:
    bus = StalledBus()
    bus.ring(1)
    await asyncio.sleep(0)

    async with asyncio.timeout(5):
        await bus.close()

    assert bus.published == []
