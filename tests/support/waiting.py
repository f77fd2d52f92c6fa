"""Waiting, within a bound, for state that another process or server changes without telling the test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import httpx

RECOVERY_SECONDS = 30.0
"""Generous: reconnecting backs off up to 5 s between attempts, and the machine may be busy."""


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, within: float = RECOVERY_SECONDS, every: float = 0.05
) -> None:
    """Poll every ``every`` seconds until ``condition`` holds; fail with ``TimeoutError`` after ``within``."""
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(every)


async def answers_ready(client: httpx.AsyncClient) -> bool:
    """``/ready`` answers 200; a server that cannot be reached is not ready, as for a load balancer."""
    try:
        return (await client.get("/ready")).status_code == 200
    except httpx.TransportError:
        return False


async def until_ready(client: httpx.AsyncClient) -> None:
    """Wait for ``/ready`` to answer 200, as a load balancer's probe would."""
    await eventually(partial(answers_ready, client))
