"""Waiting, within a bound, for state that another process or server changes without telling the test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

RECOVERY_SECONDS = 30.0
"""Generous: reconnecting backs off up to 5 s between attempts, and the machine may be busy."""


async def eventually(condition: Callable[[], Awaitable[bool]], *, within: float = RECOVERY_SECONDS) -> None:
    """Poll until ``condition`` holds; fail with ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.05)


async def until_ready(client: httpx.AsyncClient) -> None:
    """Wait for ``/ready`` to answer 200, as a load balancer's probe would."""

    async def ready() -> bool:
        return (await client.get("/ready")).status_code == 200

    await eventually(ready)
