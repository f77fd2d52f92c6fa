"""Server subprocesses owned by a benchmark: start, wait until ready, measure memory, stop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from bench.http1 import TRANSPORT_ERRORS, Connection

HOST = "127.0.0.1"
_REPO_ROOT = Path(__file__).resolve().parent.parent


class ServerFailed(RuntimeError):
    """A server subprocess exited early or never became ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A server started in its own session, so that a ``--workers`` tree can be signalled as one group."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log_path: Path) -> None:
        self.process = process
        self.host, self.port = HOST, port
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_bytes(self) -> int:
        """Resident memory of the server and every process below it (its workers)."""
        return sum(_vm_rss(pid) for pid in _tree(self.pid))

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server and every process below it have used so far."""
        return process_cpu_seconds(_tree(self.pid))

    def log_tail(self, limit: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-limit:]

    async def wait_ready(self, path: str) -> None:
        """Poll ``GET path`` until it answers 200; the caller bounds the wait."""
        conn = Connection(self.host, self.port)
        try:
            while self.process.returncode is None:
                with contextlib.suppress(*TRANSPORT_ERRORS):
                    if (await conn.request("GET", path)).status == 200:
                        return
                await asyncio.sleep(0.1)
        finally:
            conn.close()
        raise ServerFailed(f"server exited with {self.process.returncode}:\n{self.log_tail()}")

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM for a graceful shutdown, then SIGKILL to the whole group if it does not come."""
        if self.process.returncode is None:
            self.process.terminate()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self.process.wait()
        # The group id is the pid of the process this benchmark started, so only its own tree is hit;
        # this also ends workers a crashed supervisor left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        await self.process.wait()


@contextlib.asynccontextmanager
async def running_server(
    argv: Sequence[str],
    *,
    port: int,
    log_path: Path,
    ready_path: str,
    env: Mapping[str, str] | None = None,
    ready_within: float = 60.0,
) -> AsyncIterator[ServerProcess]:
    """Run ``argv`` as a server for the duration of the block; its output goes to ``log_path``."""
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=_REPO_ROOT,
            start_new_session=True,
        )
    server = ServerProcess(process, port, log_path)
    try:
        try:
            async with asyncio.timeout(ready_within):
                await server.wait_ready(ready_path)
        except TimeoutError:
            raise ServerFailed(
                f"GET {ready_path} not 200 within {ready_within:.0f} s:\n{server.log_tail()}"
            ) from None
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def running_baseline(
    module: str, *, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    """Run a baseline module (one that calls ``serve_baseline``) on a free port for the block, with ``env``
    added to its environment."""
    port = free_port()
    argv = [sys.executable, "-m", module, "--port", str(port)]
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        async with running_server(
            argv, port=port, log_path=Path(tmp) / "server.log", ready_path="/ping", env=env
        ) as server:
            yield server


def serve_baseline(app: ASGIApp) -> None:
    """Entry point of a baseline subprocess: uvicorn at its fastest, quiet, on ``--port``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port: int = parser.parse_args().port
    uvicorn.run(
        app, host=HOST, port=port, loop="uvloop", http="httptools", log_level="warning", access_log=False
    )


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants, found through the parent ids in ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                # The command name in parentheses may hold spaces; the parent id follows its ")".
                ppid = int(stat.rpartition(")")[2].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _vm_rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pids: Sequence[int]) -> float:
    """CPU time (user and system) these processes have used so far; a process gone counts 0."""
    return sum(_cpu_seconds(pid) for pid in pids)


def _cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError):
        # utime and stime are the 12th and 13th fields after the parenthesised command name.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return 0.0
