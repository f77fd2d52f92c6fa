"""Minimal HTTP/1.1 client wire code shared by the load generator, the API helper and the SSE client.

It sits on raw asyncio streams rather than httpx so that per-request overhead stays small enough for
one client process to drive a server flat out, and so that thousands of open streams stay cheap.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

_HEAD_END = b"\r\n\r\n"
_CRLF = b"\r\n"
_BODYLESS_STATUSES = frozenset({204, 304})


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed HTTP/1.1 response."""


#: What a broken or closed connection raises; callers count these as errors instead of crashing.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ProtocolError,
)


@dataclass(slots=True)
class ResponseHead:
    """Status line and headers of a response; header names are lower-case."""

    status: int
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


@dataclass(slots=True)
class Response:
    """A complete response, body included."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def encode_request(method: str, path: str, authority: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """Serialise one request; ``Content-Length`` is always sent when there is a body or the method has one."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {authority}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def encode_chunked_head(method: str, path: str, authority: str, headers: Mapping[str, str]) -> bytes:
    """The head of a request whose body follows piece by piece (``encode_chunk``, then ``LAST_CHUNK``).

    For uploads whose server acts on each piece as it arrives, such as an NDJSON stream of deltas.
    """
    lines = [f"{method} {path} HTTP/1.1", f"Host: {authority}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def encode_chunk(data: bytes) -> bytes:
    """One non-empty piece of a chunked request body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


#: Ends a chunked request body (no trailer fields).
LAST_CHUNK = b"0\r\n\r\n"


async def read_head(reader: asyncio.StreamReader) -> ResponseHead:
    """Read and parse a status line and its headers."""
    raw = await reader.readuntil(_HEAD_END)
    status_line, *header_lines = raw[:-4].decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(f"bad status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return ResponseHead(int(rest[:3]), headers)


async def iter_body(reader: asyncio.StreamReader, head: ResponseHead) -> AsyncIterator[bytes]:
    """Yield the body as it arrives: chunk by chunk when chunked, which is what an event stream needs."""
    if not _has_body(head):
        return
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        while size := await _read_chunk_size(reader):
            chunk = await reader.readexactly(size + 2)
            yield chunk[:-2]
        while await reader.readuntil(_CRLF) != _CRLF:  # trailer fields, unused
            pass
    elif (length := head.headers.get("content-length")) is not None:
        if int(length):
            yield await reader.readexactly(int(length))
    else:
        while data := await reader.read(65536):
            yield data


async def read_body(reader: asyncio.StreamReader, head: ResponseHead) -> bytes:
    """Read a whole body; a ``Content-Length`` body skips the generator, which matters in the load loop."""
    length = head.headers.get("content-length")
    if length is not None and "transfer-encoding" not in head.headers and _has_body(head):
        return await reader.readexactly(int(length))
    return b"".join([piece async for piece in iter_body(reader, head)])


def _has_body(head: ResponseHead) -> bool:
    return head.status >= 200 and head.status not in _BODYLESS_STATUSES


async def _read_chunk_size(reader: asyncio.StreamReader) -> int:
    line = await reader.readuntil(_CRLF)
    try:
        return int(line.split(b";", 1)[0], 16)
    except ValueError:
        raise ProtocolError(f"bad chunk size line {line!r}") from None


class Connection:
    """One keep-alive HTTP/1.1 connection that reopens itself after the server has closed it.

    Requests are sent one at a time (no pipelining); HEAD and 1xx responses are not supported.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._authority = f"{host}:{port}"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        """Open the socket now, so that a caller can connect before its clock starts."""
        await self._streams()

    async def request(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> Response:
        reader, writer = await self._streams()
        try:
            writer.write(encode_request(method, path, self._authority, headers or {}, body))
            await writer.drain()
            head = await read_head(reader)
            data = await read_body(reader, head)
        except BaseException:
            # A half-read response leaves the connection unusable, whatever interrupted it.
            self.close()
            raise
        if not head.keep_alive:
            self.close()
        return Response(head.status, head.headers, data)

    async def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The open streams, reopened when the server has closed an idle connection."""
        if self._reader is None or self._writer is None or self._reader.at_eof():
            self.close()
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
