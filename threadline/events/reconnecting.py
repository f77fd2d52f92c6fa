"""What the Redis and PostgreSQL buses share: a listener that reconnects by itself, rings that never raise."""

from __future__ import annotations

import asyncio
import logging
import random
from abc import abstractmethod
from collections.abc import Callable

from threadline.events.bus import CATCH_UP, EventBus, RingHandler
from threadline.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

CHANNEL = "threadline_events"
"""The one Redis channel, or PostgreSQL ``LISTEN`` name, that every process rings and hears."""

TIMEOUT_SECONDS = 2.0
"""How long a ring or a reachability check may wait: a request must not hang on a bus that is down."""

KEEPALIVE_SECONDS = 5.0
"""How often the idle listener proves its connection still answers (a silent peer never says goodbye)."""


class ReconnectingBus(EventBus):
    """A bus heard through one long-lived connection, reopened with growing pauses whenever it breaks.

    Each time the listener connects it rings this process's own handler with ``CATCH_UP``, so the hub
    re-reads the log at once instead of waiting for its next poll to find what was rung meanwhile. While it
    is not listening, ``check`` reports the bus unavailable even if the service answers other connections.
    """

    first_retry_seconds = 0.1
    max_retry_seconds = 5.0
    ring_timeout_seconds = TIMEOUT_SECONDS
    """How long one ring may take to publish before it is given up (the hubs' polls find its events)."""

    def __init__(self) -> None:
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._ringer: asyncio.Task[None] | None = None
        self._unrung: int | None = None
        """The newest event id rung but not yet being published."""
        self._rings_lost = 0
        """Rings given up since the last one published: only the first of an outage is logged."""

    async def start(self, on_ring: RingHandler) -> None:
        await self._open()
        self._listener = asyncio.create_task(self._listen_forever(on_ring), name=f"{self.name} event bus")

    def ring(self, event_id: int) -> None:
        """Publish ``event_id`` in the background: no write waits on the bus, however slow it is.

        Rings that come while one is being published wait as one, the newest: a hub that hears it reads
        every event after its cursor anyway.
        """
        self._unrung = max(event_id, self._unrung or 0)
        if self._ringer is None or self._ringer.done():
            self._ringer = asyncio.create_task(self._publish_rings(), name=f"{self.name} event bus rings")

    async def _publish_rings(self) -> None:
        while self._unrung is not None:
            event_id, self._unrung = self._unrung, None
            try:
                async with asyncio.timeout(self.ring_timeout_seconds):
                    await self._publish(event_id)
            except Exception as error:  # whatever went wrong, the hubs' next poll finds the event
                if not self._rings_lost:
                    logger.warning(
                        "%s event bus: ring for event %d lost: %r (no more logged until one goes through)",
                        *(self.name, event_id, error),
                    )
                self._rings_lost += 1
                continue
            if self._rings_lost:
                logger.warning("%s event bus: rings go through again, %d lost", self.name, self._rings_lost)
                self._rings_lost = 0

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                # A listener still making its first connection gets the same time as the ping.
                await self._listening.wait()
                await self._ping()
        except Exception:
            return False
        return True

    async def close(self) -> None:
        """Stop listening and ringing; a ring still unpublished is dropped (the hubs' polls find it)."""
        for task in (self._ringer, self._listener):
            if task is not None:
                await cancel_and_wait(task)
        self._ringer = self._listener = None
        await self._close()

    async def _listen_forever(self, on_ring: RingHandler) -> None:
        failures = 0

        def connected() -> None:
            nonlocal failures
            if failures:
                logger.warning("%s event bus: listening again", self.name)
            failures = 0
            self._listening.set()
            on_ring(CATCH_UP)

        while True:
            try:
                await self._listen(on_ring, connected)
                raise ConnectionError("the listening connection ended")
            except Exception as error:
                self._listening.clear()
                if not failures:
                    logger.warning("%s event bus: not listening (%r); reconnecting", self.name, error)
            failures += 1
            # Jitter keeps many processes from reconnecting in lockstep after an outage.
            pause = min(self.first_retry_seconds * 2 ** (failures - 1), self.max_retry_seconds)
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))

    async def _open(self) -> None:
        """Prepare what ``ring`` and ``check`` use; must not fail when the service is down."""

    @abstractmethod
    async def _listen(self, on_ring: RingHandler, connected: Callable[[], None]) -> None:
        """Hear rings on one connection until it breaks; call ``connected`` once subscribed.

        It must raise within about ``KEEPALIVE_SECONDS + TIMEOUT_SECONDS`` of its connection going silent.
        """

    @abstractmethod
    async def _publish(self, event_id: int) -> None: ...

    @abstractmethod
    async def _ping(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...
