"""A graceful shutdown ends the event streams (operations.md): on SIGTERM every open stream's response
completes at once, nothing is logged as an error, and the process exits well within uvicorn's 5 s grace,
with one worker or several. Clients resume elsewhere with their ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from tests.support import databases
from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.teams import create_workspace

pytestmark = pytest.mark.e2e

STREAMS = 4
WAIT_SECONDS = 30.0


async def test_sigterm_completes_every_open_stream_and_exits_quietly(
    e2e_database: str, tmp_path: Path
) -> None:
    await _shut_down_with_streams_open(ServerProcess(e2e_database, tmp_path))


@pytest.mark.postgres
async def test_sigterm_does_the_same_in_every_worker(tmp_path: Path) -> None:
    await databases.require_postgres()
    dsn = await databases.create_postgres_database("threadline_e2e")
    try:
        url = databases.sqlalchemy_url(dsn)
        await _shut_down_with_streams_open(ServerProcess(url, tmp_path, workers=2, event_bus="postgres"))
    finally:
        await databases.drop_postgres_database(dsn)


async def _shut_down_with_streams_open(server: ServerProcess) -> None:
    await server.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            api = httpx.AsyncClient(base_url=server.url, timeout=WAIT_SECONDS)
            await stack.enter_async_context(api)
            alice = await sign_up(api)
            conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
            path = f"/v1/conversations/{conversation['id']}/events"
            streams = []
            for _ in range(STREAMS):
                # A connection each, so that with several workers the streams spread over them.
                client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
                streams.append(await RawStream.open(stack, client, path, alice))
            message = await post_message(alice, conversation["id"], "before the shutdown")
            for stream in streams:
                await stream.until(message["id"].encode())

            # Streams left open would be cancelled at uvicorn's graceful timeout (5 s): incomplete bodies,
            # and the errors the log is checked for below.
            await server.stop(grace=WAIT_SECONDS)
            bodies = await asyncio.gather(*(stream.body() for stream in streams), return_exceptions=True)
    finally:
        await server.stop()

    log = server.log_path.read_text(errors="replace")
    for body in bodies:
        # A complete chunked response (``body`` raised otherwise), ending after a whole frame.
        assert isinstance(body, bytes), f"{body!r}\n{log[-4000:]}"
        assert message["id"].encode() in body
        assert body.endswith(b"\n\n"), body[-200:]
    for sign in ("ERROR", "Traceback", "CancelledError"):
        assert sign not in log, log[-4000:]


class RawStream:
    """An event stream read to its end as bytes, so that an incomplete response fails instead of ending."""

    def __init__(self, response: httpx.Response) -> None:
        self._received = b""
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read(response))

    @classmethod
    async def open(
        cls, stack: contextlib.AsyncExitStack, client: httpx.AsyncClient, path: str, account: Account
    ) -> RawStream:
        request = client.stream(
            "GET", path, headers=account.headers, timeout=httpx.Timeout(WAIT_SECONDS, read=None)
        )
        response = await stack.enter_async_context(request)
        assert response.status_code == 200, await response.aread()
        stream = cls(response)
        stack.push_async_callback(stream.close)
        await stream.until(b"event: ready")
        return stream

    async def until(self, expected: bytes) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            while expected not in self._received:
                if self._reader.done():
                    self._reader.result()  # raises what ended the read
                    raise AssertionError(f"the stream ended before {expected!r}: {self._received!r}")
                await self._arrived.wait()
                self._arrived.clear()

    async def body(self) -> bytes:
        """Everything received, once the server has completed the response; raises if it broke it off."""
        async with asyncio.timeout(WAIT_SECONDS):
            await self._reader
        return self._received

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await self._reader

    async def _read(self, response: httpx.Response) -> None:
        try:
            async for chunk in response.aiter_raw():
                self._received += chunk
                self._arrived.set()
        finally:
            self._arrived.set()
