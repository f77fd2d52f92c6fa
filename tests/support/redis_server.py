"""Redis for tests: the machine's shared server, and private servers a test may stop and restart.

Redis tests run whenever a server answers; in CI (``CI=true``) an unreachable server is a failure, never a
silent skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.support.databases import IN_CI
from tests.support.waiting import eventually

REDIS_URL = os.environ.get("THREADLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def require_redis() -> None:
    """Skip (or, in CI, fail) when there is no Redis server to test against."""
    if await _answers(REDIS_URL):
        return
    problem = f"Redis at {REDIS_URL} is unreachable"
    if IN_CI:
        pytest.fail(f"{problem} (CI must run the Redis tests)")
    pytest.skip(problem)


class PrivateRedis:
    """A ``redis-server`` on a free port that only this test uses, so it may stop and restart it."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._process: asyncio.subprocess.Process | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, directory: Path) -> AsyncIterator[PrivateRedis]:
        if shutil.which("redis-server") is None:
            if IN_CI:
                pytest.fail("redis-server is not installed (CI must run the Redis tests)")
            pytest.skip("redis-server is not installed")
        server = cls(directory)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(self._directory)),
            stdout=asyncio.subprocess.DEVNULL,
        )
        await eventually(lambda: _answers(self.url))

    async def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            await self._process.wait()
            self._process = None
