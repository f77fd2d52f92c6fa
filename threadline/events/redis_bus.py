"""The Redis bus: each ring ``PUBLISH``es the event id on one channel that every process subscribes to."""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from threadline.events.bus import RingHandler
from threadline.events.reconnecting import CHANNEL, KEEPALIVE_SECONDS, TIMEOUT_SECONDS, ReconnectingBus


class RedisBus(ReconnectingBus):
    """Pub/sub is at-most-once; that is enough for a doorbell, since the log keeps every event."""

    name = "redis"
    # A PUBLISH answers within a millisecond or so; one that waits longer is lost to a partition, and the
    # rings that queue up behind it should not wait out a long timeout.
    ring_timeout_seconds = 0.5

    def __init__(self, url: str) -> None:
        super().__init__()
        # One immediate retry replaces a pooled connection that died with a restarted server;
        # more would make every write wait while Redis is down. The socket timeout bounds every command
        # and handshake; the listener's reads set their own.
        self._client = Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 1),
            socket_connect_timeout=TIMEOUT_SECONDS,
            socket_timeout=TIMEOUT_SECONDS,
            socket_keepalive=True,
        )

    async def _listen(self, on_ring: RingHandler, connected: Callable[[], None]) -> None:
        async with self._client.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            # A silent connection (a partition, a dead NAT entry) neither delivers nor fails, and redis-py's
            # health check only sends its PING: after a quiet while, PING it here and give up on it if
            # nothing at all comes back in time.
            pinged = False
            while True:
                message = await pubsub.get_message(timeout=TIMEOUT_SECONDS if pinged else KEEPALIVE_SECONDS)
                if message is None:
                    if pinged:
                        raise TimeoutError(f"Redis did not answer a PING within {TIMEOUT_SECONDS} s")
                    await pubsub.ping()
                    pinged = True
                    continue
                pinged = False
                # A "subscribe" confirmation also follows each reconnection redis-py makes on its own.
                if message["type"] == "subscribe":
                    connected()
                elif message["type"] == "message":
                    on_ring(int(message["data"]))

    async def _publish(self, event_id: int) -> None:
        await self._client.publish(CHANNEL, event_id)

    async def _ping(self) -> None:
        await self._client.ping()

    async def _close(self) -> None:
        await self._client.aclose()
