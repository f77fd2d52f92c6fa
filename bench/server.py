"""A real Threadline server for one benchmark: ``threadline serve`` on a fresh database and a free port."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from bench.config import BenchConfig
from bench.procs import HOST, ServerFailed, ServerProcess, free_port, running_server


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
async def running_threadline(config: BenchConfig) -> AsyncIterator[ServerProcess]:
    """Serve Threadline until the block ends, on SQLite in a temporary directory unless told otherwise.

    ``config.server_env`` is applied last, so it may point the server at PostgreSQL or another event bus.
    """
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as tmp:
        port = free_port()
        env = {
            "THREADLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "THREADLINE_SECRET_KEY": secrets.token_urlsafe(32),
            **config.extra_server_env,
        }
        argv = [str(threadline_executable()), "serve", "--host", HOST, "--port", str(port)]
        argv += ["--workers", str(config.workers)]
        async with running_server(
            argv, port=port, log_path=Path(tmp) / "server.log", ready_path="/ready", env=env
        ) as server:
            yield server
