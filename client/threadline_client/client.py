"""The two clients: ``AsyncThreadline`` and ``Threadline``. Their endpoints come from one table
(``_endpoints.Endpoints``); each adds only how it sends a request and waits, and how it follows a stream."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, Unpack

import httpx

from threadline_client._calls import Call, RetryPolicy
from threadline_client._endpoints import Endpoints, Id, export_path
from threadline_client.errors import error_of
from threadline_client.events import AsyncEventStream, EventStream, StreamScope
from threadline_client.models import Message, MessageRole, MessageWindow, Token
from threadline_client.reply import Reply

T = TypeVar("T")
ExportFormat = Literal["json", "markdown"]

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class _Wait:
    seconds: float


class _Client(Endpoints):
    """What both clients share besides the endpoints: the credential, and turning calls into requests and
    answers into models or exceptions."""

    def __init__(self, *, token: str | None, retry: RetryPolicy) -> None:
        self.token = token
        """The access token or API key sent as ``Authorization: Bearer``; ``login`` sets it."""
        self.retry = retry

    def credentials(self) -> dict[str, str]:
        """The ``Authorization`` header, if the client has a credential."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _request(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
        return http.build_request(
            call.method,
            call.path,
            params=call.params or None,
            json=call.json,
            data=call.form,
            headers=self.credentials() | dict(call.headers),
        )

    def _outcome(self, call: Call[T], attempt: int, sent: httpx.Response | httpx.TransportError) -> T | _Wait:
        """What the ``attempt``-th send of ``call`` (from 0) comes to: its answer, a refusal or network
        failure raised, or how long to wait before sending it again."""
        response = sent if isinstance(sent, httpx.Response) else None
        delay = self.retry.delay(call, attempt, response)
        if delay is not None:
            return _Wait(delay)
        if isinstance(sent, httpx.TransportError):
            raise sent
        return self._answer(call, sent)

    def _answer(self, call: Call[T], response: httpx.Response) -> T:
        if not response.is_success:
            raise error_of(response)
        answer = call.read(response)
        if call.signs_in and isinstance(answer, Token):
            self.token = answer.access_token
        return answer


class AsyncThreadline(_Client):
    """The asynchronous client: every endpoint as a coroutine method, ``events()`` that resume by
    themselves, and ``reply()`` for streaming an assistant's reply.

    ``token`` is an access token or an API key (``login`` sets one). Reads, posts (which carry an
    ``Idempotency-Key``) and reply deltas are retried after network failures and 429/502/503/504 answers, as
    ``retry`` says; other calls are sent once. ``transport`` is handed to httpx (for proxies, tests).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(token=token, retry=retry or RetryPolicy())
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections the client keeps open."""
        await self.http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send one call, again after a failure when its policy allows; answers its typed result."""
        request = self._request(self.http, call)
        for attempt in itertools.count():
            try:
                sent: httpx.Response | httpx.TransportError = await self.http.send(request)
            except httpx.TransportError as error:
                sent = error
            if isinstance(outcome := self._outcome(call, attempt, sent), _Wait):
                await asyncio.sleep(outcome.seconds)
            else:
                return outcome
        raise AssertionError("unreachable")

    async def export(
        self, conversation_id: Id, *, format: ExportFormat = "json", chunk_size: int = 64 * 1024
    ) -> AsyncIterator[bytes]:
        """A conversation's export (``json`` or ``markdown``) as it streams, in pieces of about
        ``chunk_size`` bytes: write them to a file without holding the whole export.

        A refusal raises before the first piece; a download broken off midway raises httpx's error.
        """
        path, params = export_path(conversation_id, format)
        async with self.http.stream("GET", path, params=params, headers=self.credentials()) as response:
            if not response.is_success:
                await response.aread()
                raise error_of(response)
            async for piece in response.aiter_bytes(chunk_size):
                yield piece

    def events(self, **scope: Unpack[StreamScope]) -> AsyncEventStream:
        """Follow a stream (a conversation's, a workspace's, or by default everything you may see) with
        ``async with … as events: async for item in events``; see ``AsyncEventStream``."""
        return AsyncEventStream(self, scope)

    def reply(
        self, conversation_id: Id, *, role: MessageRole = "assistant", metadata: dict[str, Any] | None = None
    ) -> Reply:
        """A streaming reply in a conversation, for ``async with … as reply: await reply.write(text)``."""
        return Reply(self, conversation_id, role=role, metadata=metadata)

    def conversation(self, conversation_id: Id) -> AsyncConversation:
        """One conversation's most used operations, bound to its id."""
        return AsyncConversation(self, conversation_id)


class AsyncConversation:
    """A conversation's id bound to a client: post to it, read it, follow it and reply in it."""

    def __init__(self, client: AsyncThreadline, conversation_id: Id) -> None:
        self.client = client
        self.id = conversation_id

    async def post(
        self,
        content: str,
        *,
        role: MessageRole | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Post a message at most once (see ``AsyncThreadline.post_message``)."""
        return await self.client.post_message(
            self.id, content, role=role, metadata=metadata, idempotency_key=idempotency_key
        )

    async def messages(
        self, *, limit: int | None = None, after: int | None = None, before: int | None = None
    ) -> MessageWindow:
        """A slice of the messages, oldest first: the latest, or those after or before a ``seq``."""
        return await self.client.list_messages(self.id, limit=limit, after=after, before=before)

    def events(self, *, after: int | None = None) -> AsyncEventStream:
        """Follow this conversation's events."""
        return self.client.events(conversation_id=self.id, after=after)

    def reply(self, *, role: MessageRole = "assistant", metadata: dict[str, Any] | None = None) -> Reply:
        """A streaming reply here: ``async with conversation.reply() as reply: await reply.write(text)``."""
        return self.client.reply(self.id, role=role, metadata=metadata)


class Threadline(_Client):
    """The synchronous client: the same endpoints and arguments as ``AsyncThreadline``, answering
    directly, and ``events()`` for ``with``/``for``. Streaming replies are asynchronous only."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(token=token, retry=retry or RetryPolicy())
        self.http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections the client keeps open."""
        self.http.close()

    def export(
        self, conversation_id: Id, *, format: ExportFormat = "json", chunk_size: int = 64 * 1024
    ) -> Iterator[bytes]:
        """``AsyncThreadline.export``, for ``for piece in client.export(…)``."""
        path, params = export_path(conversation_id, format)
        with self.http.stream("GET", path, params=params, headers=self.credentials()) as response:
            if not response.is_success:
                response.read()
                raise error_of(response)
            yield from response.iter_bytes(chunk_size)

    def send(self, call: Call[T]) -> T:
        """Send one call, again after a failure when its policy allows; answers its typed result."""
        request = self._request(self.http, call)
        for attempt in itertools.count():
            try:
                sent: httpx.Response | httpx.TransportError = self.http.send(request)
            except httpx.TransportError as error:
                sent = error
            if isinstance(outcome := self._outcome(call, attempt, sent), _Wait):
                time.sleep(outcome.seconds)
            else:
                return outcome
        raise AssertionError("unreachable")

    def events(self, **scope: Unpack[StreamScope]) -> EventStream:
        """Follow a stream with ``with … as events: for item in events``; see ``AsyncEventStream``."""
        return EventStream(self, scope)
