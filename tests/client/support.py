"""Trouble for the client to survive, at its one narrow I/O edge: a transport that loses answers or
requests, a load balancer that moves connections between servers, and a fake OpenAI-compatible model."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from tests.support.server import serving
from threadline_client import AsyncEventStream, AsyncThreadline, Event, Message

WAIT_SECONDS = 30.0
"""How long a test waits for what it expects: generous, since the machine may be busy."""

Matcher = Callable[[httpx.Request], bool]


def posts_to(suffix: str) -> Matcher:
    """Requests that ``POST`` to a path ending with ``suffix``."""
    return lambda request: request.method == "POST" and request.url.path.endswith(suffix)


@dataclass
class Trouble:
    """What goes wrong with the requests a matcher picks: which of them (counted from 1) lose their
    answer after the server has carried them out, and which never reach the server."""

    matches: Matcher
    lose_answer: set[int] = field(default_factory=set)
    never_arrive: set[int] = field(default_factory=set)


class TroubledTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """Real HTTP, except for the requests ``trouble`` picks, as a flaky network treats them: the client
    sees a timeout or a refused connection, and cannot tell whether the server acted. For either client."""

    def __init__(self, trouble: Trouble) -> None:
        self._async = httpx.AsyncHTTPTransport()
        self._sync = httpx.HTTPTransport()
        self._trouble = trouble
        self.sent: list[httpx.Request] = []
        """Every picked request the client sent, retries included."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._trouble.matches(request):
            return await self._async.handle_async_request(request)
        self._before(request)
        response = await self._async.handle_async_request(request)
        await response.aread()
        return self._after(request, response)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._trouble.matches(request):
            return self._sync.handle_request(request)
        self._before(request)
        response = self._sync.handle_request(request)
        response.read()
        return self._after(request, response)

    def _before(self, request: httpx.Request) -> None:
        self.sent.append(request)
        if len(self.sent) in self._trouble.never_arrive:
            raise httpx.ConnectError("the connection dropped before the request left", request=request)

    def _after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if len(self.sent) in self._trouble.lose_answer:
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self._async.aclose()

    def close(self) -> None:
        self._sync.close()


class Balancer:
    """A TCP load balancer in front of several servers: new connections go to the current one, and
    ``move_to`` drops every open connection and sends new ones to another, as a failover does."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = ports
        self._current = 0
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def in_front_of(cls, ports: list[int]) -> AsyncIterator[Balancer]:
        balancer = cls(ports)
        server = await asyncio.start_server(balancer._accept, "127.0.0.1", 0)
        balancer.port = server.sockets[0].getsockname()[1]
        try:
            yield balancer
        finally:
            balancer.move_to(0)
            server.close()
            await server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def move_to(self, index: int) -> None:
        """Send new connections to server ``index``; drop the open ones."""
        self._current = index
        for writer in list(self._links):
            writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            port = self._ports[self._current]
            target_reader, target_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, target_writer}
        try:
            await asyncio.gather(_pipe(reader, target_writer), _pipe(target_reader, writer))
        finally:
            self._links -= {writer, target_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.transport.abort()


async def hear(events: AsyncEventStream, count: int) -> list[Event]:
    """The stream's next ``count`` items, which must all be events."""
    async with asyncio.timeout(WAIT_SECONDS):
        items = [await anext(events) for _ in range(count)]
    assert all(isinstance(item, Event) for item in items), items
    return [item for item in items if isinstance(item, Event)]


def heard_messages(events: list[Event]) -> list[str]:
    """The message each event is about, checking on the way that ids strictly increase."""
    ids = [event.id for event in events]
    assert ids == sorted(set(ids)), ids
    return [str(event.message().id) for event in events]


async def post(client: AsyncThreadline, conversation_id: object, count: int, start: int = 0) -> list[Message]:
    return [await client.post_message(str(conversation_id), f"#{number}") for number in range(start, count)]


def ids_of(messages: list[Message]) -> list[str]:
    return [str(message.id) for message in messages]


@dataclass
class FakeModel:
    """An OpenAI-compatible chat-completions endpoint that streams ``chunks`` as the real API does
    (``data: {chat.completion.chunk}`` lines, then ``data: [DONE]``), then, if ``hang``, waits for the
    client to go away; or answers ``fail`` as an error. It records what it is asked and sees."""

    chunks: list[str]
    hang: bool = False
    fail: tuple[int, str] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: int = 0
    """Chunks written so far."""
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    """A client went away before the stream ended."""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            if self.fail is not None:
                status, message = self.fail
                error = {"error": {"message": message, "type": "server_error"}}
                return Response(json.dumps(error), status_code=status, media_type="application/json")
            return StreamingResponse(self._stream(body["model"], request), media_type="text/event-stream")

        return app

    async def _stream(self, model: str, request: Request) -> AsyncIterator[str]:
        finished = False
        try:
            yield _chunk(model, {"role": "assistant", "content": ""})
            for text in self.chunks:
                yield _chunk(model, {"content": text})
                self.sent += 1
            if self.hang:
                await _until_disconnected(request)
                return
            yield _chunk(model, {}, finish_reason="stop")
            yield "data: [DONE]\n\n"
            finished = True
        finally:
            # Cancelled by the server when it hears of the disconnect, or returning once it polled it.
            if not finished:
                self.disconnected.set()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve the fake; yields the base URL to give as ``--model-url``."""
        async with serving(self.app()) as url:
            yield f"{url}/v1"


async def _until_disconnected(request: Request) -> None:
    """Polled, since whether a server cancels a streaming response on a disconnect depends on its ASGI
    version."""
    while not await request.is_disconnected():  # noqa: ASYNC110 - nothing to wait on but the poll
        await asyncio.sleep(0.02)


def _chunk(model: str, delta: dict[str, str], finish_reason: str | None = None) -> str:
    chunk = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(chunk)}\n\n"
