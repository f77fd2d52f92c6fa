"""Event streams that resume by themselves (docs/events.md): every event once, in order, across dropped
connections, server restarts and moves between server processes.

A stream authenticates with the client's ``Authorization`` header, which never expires mid-stream and
never lands in a URL; with ``stream_tokens=True`` it fetches a fresh stream token for each connection and
sends it as ``?token=`` instead (for deployments whose proxies strip the header from streams).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypedDict

import httpx

from threadline_client._calls import ident
from threadline_client._endpoints import Id
from threadline_client._sse import StreamPosition
from threadline_client.errors import RateLimited, ServerError, Unavailable, error_of
from threadline_client.models import StreamItem

if TYPE_CHECKING:
    from threadline_client.client import AsyncThreadline, Threadline

IDLE_TIMEOUT = 45.0
"""Seconds without a byte (the server pings every 15 s) after which a connection counts as dead."""
MAX_RECONNECT_DELAY = 30.0


def stream_path(*, workspace_id: Id | None = None, conversation_id: Id | None = None) -> str:
    """The stream of one conversation, of one workspace, or (neither given) everything you may see."""
    if conversation_id is not None:
        return f"/v1/conversations/{ident(conversation_id)}/events"
    if workspace_id is not None:
        return f"/v1/workspaces/{ident(workspace_id)}/events"
    return "/v1/events"


_TRANSIENT = (httpx.TransportError, Unavailable, RateLimited, ServerError)
"""Failures to open a connection (or fetch its stream token) that a later attempt may not meet."""


class StreamScope(TypedDict, total=False):
    """The keyword arguments of ``events()``: which stream, and how to follow it."""

    workspace_id: Id
    """Follow one workspace."""
    conversation_id: Id
    """Follow one conversation. Neither this nor ``workspace_id``: everything you may see."""
    after: int | None
    """Resume after this event id (a ``last_event_id`` kept from before); ``None`` starts from now."""
    stream_tokens: bool
    """Authenticate each connection with a fresh ``?token=`` instead of the ``Authorization`` header."""
    idle_timeout: float
    """Seconds of silence after which a connection counts as dead (default 45: three missed pings)."""
    max_reconnect_delay: float
    """The longest wait between reconnects (default 30 s)."""


class _Stream:
    """What both drivers share: the position, and how a connection is asked for and refused."""

    def __init__(self, scope: StreamScope) -> None:
        self._path = stream_path(
            workspace_id=scope.get("workspace_id"), conversation_id=scope.get("conversation_id")
        )
        max_delay = scope.get("max_reconnect_delay", MAX_RECONNECT_DELAY)
        self._position = StreamPosition(scope.get("after"), max_delay=max_delay)
        self._stream_tokens = scope.get("stream_tokens", False)
        self._timeout = httpx.Timeout(10.0, read=scope.get("idle_timeout", IDLE_TIMEOUT))
        self._closed = False

    @property
    def last_event_id(self) -> int | None:
        """The id of the last event yielded (or where the stream started): keep it to resume later with
        ``after=``, in another process even."""
        return self._position.last_event_id

    def _request(
        self, http: httpx.Client | httpx.AsyncClient, credentials: Mapping[str, str], token: str | None
    ) -> httpx.Request:
        headers = {"Accept": "text/event-stream"} | self._position.resume_headers()
        return http.build_request(
            "GET",
            self._path,
            params={"token": token} if token else None,
            headers=headers if token else headers | dict(credentials),
            timeout=self._timeout,
        )

    @staticmethod
    def _check_refusal(response: httpx.Response) -> None:
        """Raise for a refusal no reconnect can cure (401, 404, …); return for a busy or failing server."""
        if response.status_code != 429 and response.status_code < 500:
            raise error_of(response)


class AsyncEventStream(_Stream):
    """An event stream for ``async with`` and ``async for``: entering returns once the stream is
    subscribed (nothing committed afterwards is missed); iterating yields each ``Event`` once, in order, a
    ``Reset`` when the caller must reload over REST, and a final ``Revoked`` when access ended.

    Connection failures are never raised: the stream waits (the server's ``retry``, then exponential
    backoff with jitter) and resumes after ``last_event_id``. Refusals a reconnect cannot cure are raised
    as ``ThreadlineError`` (``Unauthenticated``, ``NotFound``).
    """

    def __init__(self, client: AsyncThreadline, scope: StreamScope) -> None:
        super().__init__(scope)
        self._client = client
        self._response: httpx.Response | None = None
        self._lines: AsyncIterator[str] | None = None

    async def __aenter__(self) -> Self:
        await self._connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamItem:
        while not (self._position.ended or self._closed):
            if self._lines is None:
                await self._connect()
            assert self._lines is not None
            try:
                item = self._position.take(await anext(self._lines))
            except (StopAsyncIteration, httpx.TransportError):
                await self._disconnect()
                continue
            if item is not None:
                return item
        await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Close the stream for good: iterating ends."""
        self._closed = True
        await self._disconnect()

    async def _disconnect(self) -> None:
        response, self._response, self._lines = self._response, None, None
        if response is not None:
            await response.aclose()

    async def _connect(self) -> None:
        """Open a connection and read it up to ``ready``, waiting and trying again until one does."""
        while not await self._subscribe():
            await self._disconnect()
            await asyncio.sleep(self._position.reconnect_delay())

    async def _subscribe(self) -> bool:
        try:
            token = (await self._client.create_stream_token()).token if self._stream_tokens else None
            request = self._request(self._client.http, self._client.credentials(), token)
            self._response = await self._client.http.send(request, stream=True)
            if self._response.status_code != 200:
                await self._response.aread()
                self._check_refusal(self._response)
                return False
            self._lines = self._response.aiter_lines()
            async for line in self._lines:
                self._position.take(line)
                if self._position.subscribed:
                    return True
        except _TRANSIENT:
            pass
        return False


class EventStream(_Stream):
    """The synchronous ``AsyncEventStream``: ``with`` and ``for``, the same items and guarantees."""

    def __init__(self, client: Threadline, scope: StreamScope) -> None:
        super().__init__(scope)
        self._client = client
        self._response: httpx.Response | None = None
        self._lines: Iterator[str] | None = None

    def __enter__(self) -> Self:
        self._connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> StreamItem:
        while not (self._position.ended or self._closed):
            if self._lines is None:
                self._connect()
            assert self._lines is not None
            try:
                item = self._position.take(next(self._lines))
            except (StopIteration, httpx.TransportError):
                self._disconnect()
                continue
            if item is not None:
                return item
        self.close()
        raise StopIteration

    def close(self) -> None:
        """Close the stream for good: iterating ends."""
        self._closed = True
        self._disconnect()

    def _disconnect(self) -> None:
        response, self._response, self._lines = self._response, None, None
        if response is not None:
            response.close()

    def _connect(self) -> None:
        while not self._subscribe():
            self._disconnect()
            time.sleep(self._position.reconnect_delay())

    def _subscribe(self) -> bool:
        try:
            token = self._client.create_stream_token().token if self._stream_tokens else None
            request = self._request(self._client.http, self._client.credentials(), token)
            self._response = self._client.http.send(request, stream=True)
            if self._response.status_code != 200:
                self._response.read()
                self._check_refusal(self._response)
                return False
            self._lines = self._response.iter_lines()
            for line in self._lines:
                self._position.take(line)
                if self._position.subscribed:
                    return True
        except _TRANSIENT:
            pass
        return False
