"""A TCP proxy to put between the app and a shared service, so a test can take the service "down" alone.

Stopping the machine's PostgreSQL or Redis would break every other test running at the same time; cutting
a private proxy looks the same to the app: open connections drop and new ones are refused. It can also
freeze one connection, as a network partition or a dead NAT entry does: the connection stays open and
carries nothing either way, not even an error or a close, so only a client that checks its peer notices.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to the target until ``cut()``, and again after ``restore()``.

    It numbers the connections it accepts from 0, so a test can ``freeze`` one (the first is a bus's
    listener).
    """

    def __init__(self, target_url: str) -> None:
        self._target_url = urlsplit(target_url)
        self._links: set[asyncio.StreamWriter] = set()
        self._cut = False
        self._accepted = 0
        self._frozen: set[int] = set()
        self._partitioned = False
        self.port = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def in_front_of(cls, url: str) -> AsyncIterator[TcpProxy]:
        """A proxy to the host and port of ``url`` (a database or Redis URL) while the block runs."""
        proxy = cls(url)
        server = await asyncio.start_server(proxy._accept, "127.0.0.1", 0)
        proxy.port = server.sockets[0].getsockname()[1]
        try:
            yield proxy
        finally:
            proxy.cut()
            server.close()
            await server.wait_closed()

    @property
    def url(self) -> str:
        """The target URL with its host and port replaced by this proxy's."""
        credentials, _, _ = self._target_url.netloc.rpartition("@")
        address = f"127.0.0.1:{self.port}"
        return urlunsplit(
            self._target_url._replace(netloc=f"{credentials}@{address}" if credentials else address)
        )

    def cut(self) -> None:
        """Drop every open connection, and refuse new ones until ``restore()``."""
        self._cut = True
        for writer in list(self._links):
            writer.transport.abort()

    def refuse(self) -> None:
        """Refuse new connections until ``restore()``, leaving open ones as they are (frozen or not)."""
        self._cut = True

    def restore(self) -> None:
        """Accept new connections again; after a ``partition()``, the connections it froze are dropped (their
        peers' lost bytes made them useless, as TCP's retransmission timeout would end them)."""
        if self._partitioned:
            self._partitioned = False
            for writer in list(self._links):
                writer.transport.abort()
        self._cut = False

    def partition(self) -> None:
        """Freeze every connection, open now or opened until ``restore()``: neither end hears anything,
        not even a refusal."""
        self._partitioned = True

    def freeze(self, connection: int) -> None:
        """From now on, drop whatever either end of the ``connection``-th connection sends."""
        self._frozen.add(connection)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._cut:
            client_writer.transport.abort()
            return
        number, self._accepted = self._accepted, self._accepted + 1
        try:
            target_reader, target_writer = await asyncio.open_connection(
                self._target_url.hostname, self._target_url.port
            )
        except OSError:
            client_writer.transport.abort()
            return
        self._links |= {client_writer, target_writer}

        def frozen() -> bool:
            return self._partitioned or number in self._frozen

        try:
            await asyncio.gather(
                _pipe(client_reader, target_writer, frozen),
                _pipe(target_reader, client_writer, frozen),
                return_exceptions=True,
            )
        finally:
            self._links -= {client_writer, target_writer}
            client_writer.transport.abort()
            target_writer.transport.abort()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, frozen: Callable[[], bool]
) -> None:
    """Copy one direction, dropping what comes while ``frozen``, until either side closes; then close the
    other so the peer notices."""
    try:
        while data := await reader.read(65536):
            if not frozen():
                writer.write(data)
                await writer.drain()
    finally:
        writer.transport.abort()
