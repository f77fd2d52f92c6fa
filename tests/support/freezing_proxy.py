"""A ``TcpProxy`` that can also freeze one connection, the way a network partition or a dead NAT entry does.

A frozen connection stays open and carries nothing either way, not even an error or a close, so only a
client that checks its peer still answers ever notices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.support.proxy import TcpProxy


class FreezingProxy(TcpProxy):
    """Numbers the connections it accepts from 0, so a test can freeze one (the first is a bus's listener)."""

    def __init__(self, target_url: str) -> None:
        super().__init__(target_url)
        self._accepted = 0
        self._frozen: set[int] = set()

    def freeze(self, connection: int) -> None:
        """From now on, drop whatever either end of the ``connection``-th connection sends."""
        self._frozen.add(connection)

    def refuse(self) -> None:
        """Refuse new connections until ``restore()``, leaving open ones as they are (frozen or not)."""
        self._cut = True

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
            return number in self._frozen

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
    """Copy one direction, dropping what comes while ``frozen``, until either side closes; then close both."""
    try:
        while data := await reader.read(65536):
            if not frozen():
                writer.write(data)
                await writer.drain()
    finally:
        writer.transport.abort()
