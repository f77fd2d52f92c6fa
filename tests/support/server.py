"""Threadline over real HTTP for tests: ``threadline serve`` as its own process (end-to-end and multi-process
tests), or a test's in-process app served by uvicorn in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support.waiting import answers_ready, eventually

HOST = "127.0.0.1"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
_FAST_TEST_SETTINGS = {"password_hash_time_cost": 1, "password_hash_memory_kib": 64}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """``threadline serve`` on a database and a port of its own; it can be stopped, killed and started again.

    Settings are keyword arguments named like ``Settings`` fields. The process runs in ``workdir`` (so no
    stray ``.env`` applies), without any ``THREADLINE_*`` variable of the test's own environment.
    With ``workers`` > 1 only ``stop`` is clean: ``kill`` ends the supervisor, not its workers.
    """

    def __init__(self, database_url: str, workdir: Path, *, workers: int = 1, **settings: object) -> None:
        self.port = free_port()
        self.workers = workers
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self._workdir = workdir
        values = {
            "database_url": database_url,
            "secret_key": TEST_SECRET_KEY,
            **_FAST_TEST_SETTINGS,
            **settings,
        }
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("THREADLINE_")}
        self._env = inherited | {f"THREADLINE_{name.upper()}": str(value) for name, value in values.items()}
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, *, ready_within: float = 60.0) -> None:
        """Start the process (migrating the database) and return once ``/ready`` answers 200."""
        await self.spawn()
        await self.until_ready(within=ready_within)

    async def spawn(self) -> None:
        """Start the process, without waiting for anything."""
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "threadline", "serve", "--host", HOST, "--port", str(self.port)),
                *("--workers", str(self.workers)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=self._env,
                cwd=self._workdir,
            )

    async def until_ready(self, *, within: float = 60.0) -> None:
        """Return once ``/ready`` answers 200; fail at once if the process exits."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            await eventually(partial(self._ready, client), within=within)

    @property
    def pid(self) -> int:
        """The process ``threadline serve`` runs in (with ``workers`` > 1, the supervisor of the workers)."""
        assert self._process is not None, "the server has not started"
        return self._process.pid

    async def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM for a graceful shutdown; SIGKILL if it does not come within ``grace`` seconds."""
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            async with asyncio.timeout(grace):
                await self._process.wait()
        except TimeoutError:
            await self.kill()

    async def kill(self) -> None:
        """SIGKILL, as in a crash: nothing is flushed or closed."""
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()

    def log(self) -> str:
        return self.full_log()[-4000:]

    def full_log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def _ready(self, client: httpx.AsyncClient) -> bool:
        """Ready, or failing at once if the process has exited: it never will be."""
        if await answers_ready(client):
            return True
        assert self._process is not None
        if self._process.returncode is not None:
            raise RuntimeError(f"threadline serve exited with {self._process.returncode}:\n{self.log()}")
        return False


@contextlib.asynccontextmanager
async def running_server(
    database_url: str, workdir: Path, **settings: object
) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(database_url, workdir, **settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app whose lifespan the test already runs over real HTTP; yields its base URL."""
    config = uvicorn.Config(
        app, host=HOST, port=free_port(), lifespan="off", log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started  # uvicorn tells of its start only through this flag

    try:
        # Often: a test waits for this in every stream it opens.
        await eventually(started, within=10, every=0.01)
        yield f"http://{HOST}:{config.port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def streaming_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` over real HTTP: httpx's ASGI transport hands over a response only once its body
    is complete, which an event stream never is."""
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client
