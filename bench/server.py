"""A real Threadline server for one benchmark: ``threadline serve`` on a fresh database and a free port."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from bench.config import BenchConfig
from bench.procs import HOST, ServerFailed, ServerProcess, free_port, running_server

SECRET_KEY = "THREADLINE_SECRET_KEY"


def threadline_executable() -> Path:
    """The ``threadline`` script beside this interpreter (the project venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("threadline")
    if beside.exists():
        return beside
    found = shutil.which("threadline")
    if found is None:
        raise ServerFailed("the threadline command is not installed; run `make install`")
    return Path(found)


@contextlib.asynccontextmanager
async def running_threadline(
    config: BenchConfig, *, env: Mapping[str, str] | None = None, workers: int | None = None
) -> AsyncIterator[ServerProcess]:
    """Serve Threadline until the block ends, on SQLite in a temporary directory unless told otherwise.

    ``config.server_env`` is applied over the defaults, so it may point the server at PostgreSQL or
    another event bus; ``env`` (a benchmark's own settings) goes over both. ``workers`` replaces
    ``config.workers``.
    """
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as tmp:
        port = free_port()
        server_env = {
            "THREADLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            SECRET_KEY: secrets.token_urlsafe(32),
            **config.extra_server_env,
            **(env or {}),
        }
        argv = [str(threadline_executable()), "serve", "--host", HOST, "--port", str(port)]
        argv += ["--workers", str(config.workers if workers is None else workers)]
        async with running_server(
            argv, port=port, log_path=Path(tmp) / "server.log", ready_path="/ready", env=server_env
        ) as server:
            yield server


def database_file(server: ServerProcess) -> Path:
    """The SQLite file of a ``running_threadline`` server left on its default database."""
    return server.log_path.parent / "bench.db"


@contextlib.asynccontextmanager
async def running_threadlines(
    config: BenchConfig, count: int, *, env: Mapping[str, str]
) -> AsyncIterator[list[ServerProcess]]:
    """``count`` separate ``threadline serve`` processes (one worker each) for the block.

    They share one secret key, so a token from one is good at all; ``env`` must name a database (and an
    event bus) they can share. They start one after another, so the first applies the migrations alone.
    """
    shared = {SECRET_KEY: secrets.token_urlsafe(32), **env}
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(running_threadline(config, env=shared, workers=1))
            for _ in range(count)
        ]
