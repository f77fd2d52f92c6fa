"""The PostgreSQL bus: ``LISTEN`` on one dedicated connection per process, ``pg_notify`` after each commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg

from threadline.events.bus import RingHandler
from threadline.events.reconnecting import CHANNEL, KEEPALIVE_SECONDS, TIMEOUT_SECONDS, ReconnectingBus


class PostgresBus(ReconnectingBus):
    """Rings go through a small pool of their own, never through a write transaction.

    A ``NOTIFY`` inside each write transaction would take PostgreSQL's notification lock at every commit and
    serialise all committers; sent afterwards it costs one short statement.
    """

    name = "postgres"

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None

    async def _open(self) -> None:
        # min_size=0: nothing connects yet, so a process can start while PostgreSQL is away.
        self._pool = await asyncpg.create_pool(self._dsn, min_size=0, max_size=2, timeout=TIMEOUT_SECONDS)

    async def _listen(self, on_ring: RingHandler, connected: Callable[[], None]) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=TIMEOUT_SECONDS)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(
                CHANNEL, lambda _connection, _pid, _channel, payload: on_ring(int(payload))
            )
            connected()
            while not lost.is_set():
                await asyncio.wait_for(connection.execute("SELECT 1"), TIMEOUT_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE_SECONDS)
        finally:
            connection.terminate()

    async def _publish(self, event_id: int) -> None:
        await self._started_pool().execute("SELECT pg_notify($1, $2)", CHANNEL, str(event_id))

    async def _ping(self) -> None:
        await self._started_pool().execute("SELECT 1")

    async def _close(self) -> None:
        """Close the pool's connections politely if the server answers in time, else drop them: a
        connection gone silent would keep a graceful close (and the process's shutdown) waiting for good."""
        if self._pool is None:
            return
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                await self._pool.close()
        except TimeoutError:
            self._pool.terminate()

    def _started_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the PostgreSQL event bus was not started")
        return self._pool
