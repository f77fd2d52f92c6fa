"""Threadline over HTTP for the benchmarks: untimed setup and checks, and the requests the load runs send."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from bench.config import BenchConfig
from bench.fanout import RoundTracker
from bench.http1 import Connection, Response
from bench.loadgen import Request
from bench.payloads import JSON_HEADERS, bearer_headers, marker_index, message_body
from bench.procs import ServerProcess
from bench.sse_client import OpenedStreams, SseEvent, open_streams

PAGE_LIMIT = 200
ROUND_MARKER = "round"


class ApiError(Exception):
    """Threadline answered a setup or check request with an unexpected status."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:300]!r}")
        self.status = status


def messages_path(conversation_id: str) -> str:
    return f"/v1/conversations/{conversation_id}/messages"


def events_path(conversation_id: str) -> str:
    return f"/v1/conversations/{conversation_id}/events"


def message_round(event: SseEvent) -> int | None:
    """The broadcast round a ``message.created`` event belongs to, read from the message's content."""
    if event.event != "message.created":
        return None
    return marker_index(json.loads(event.data)["data"]["content"], ROUND_MARKER)


def append_requests(conversation_ids: Sequence[str], count: int, token: str) -> Iterator[Request]:
    """``count`` ~200-byte message POSTs, dealt round-robin over the conversations."""
    headers = bearer_headers(token)
    paths = [messages_path(conversation_id) for conversation_id in conversation_ids]
    return (Request("POST", paths[i % len(paths)], headers, message_body(i)) for i in range(count))


async def get_once(server: ServerProcess, path: str, headers: dict[str, str]) -> Response:
    """One ``GET`` on a connection of its own, whatever it answers."""
    connection = Connection(server.host, server.port)
    try:
        return await connection.request("GET", path, headers)
    finally:
        connection.close()


class ApiClient:
    """Sequential JSON calls over one keep-alive connection, signed in as a fresh user."""

    def __init__(self, host: str, port: int) -> None:
        self._conn = Connection(host, port)
        self.token = ""

    @classmethod
    def of(cls, server: ServerProcess, token: str) -> ApiClient:
        """A client of ``server`` that presents ``token`` (one signed by another server's key, say)."""
        client = cls(server.host, server.port)
        client.token = token
        return client

    async def call(self, method: str, path: str, payload: Any = None, *, expect: int = 200) -> Any:
        return await self.send(method, path, b"" if payload is None else json.dumps(payload).encode(), expect)

    async def send(self, method: str, path: str, body: bytes, expect: int) -> Any:
        headers = bearer_headers(self.token) if self.token else JSON_HEADERS
        response = await self._conn.request(method, path, headers, body)
        if response.status != expect:
            raise ApiError(method, path, response.status, response.body)
        return response.json() if response.body else None

    async def sign_up(self) -> None:
        credentials = {"email": f"bench-{uuid.uuid4().hex}@example.com", "password": uuid.uuid4().hex}
        await self.call("POST", "/v1/auth/register", {**credentials, "name": "Bench"}, expect=201)
        self.token = (await self.call("POST", "/v1/auth/login", credentials))["access_token"]

    async def create_workspace(self, name: str) -> str:
        workspace_id: str = (await self.call("POST", "/v1/workspaces", {"name": name}, expect=201))["id"]
        return workspace_id

    async def create_conversation(self, workspace_id: str, title: str) -> str:
        path = f"/v1/workspaces/{workspace_id}/conversations"
        conversation_id: str = (await self.call("POST", path, {"title": title}, expect=201))["id"]
        return conversation_id

    async def publish_round(self, conversation_id: str, round_: int) -> None:
        """Post the message that ``message_round`` recognises as broadcast round ``round_``."""
        await self.send("POST", messages_path(conversation_id), message_body(round_, ROUND_MARKER), 201)

    async def subscribe(
        self,
        conversation_id: str,
        count: int,
        tracker: RoundTracker,
        config: BenchConfig,
        *,
        at: ServerProcess | None = None,
    ) -> OpenedStreams:
        """Open ``count`` streams on the conversation's events as this user, feeding ``tracker``.

        They connect to this client's server, or to ``at``: another process sharing its database and
        secret key, which accepts the same access token.
        """
        return await open_streams(
            at.host if at else self._conn.host,
            at.port if at else self._conn.port,
            events_path(conversation_id),
            count,
            concurrency=config.connect_concurrency,
            headers={"Authorization": f"Bearer {self.token}"},
            on_event=tracker.on_event,
        )

    async def page_seqs(self, conversation_id: str, query: str) -> tuple[list[int], bool]:
        """The ``seq`` numbers of one page of messages, and whether more exist."""
        page = await self.call("GET", f"{messages_path(conversation_id)}?{query}")
        return [item["seq"] for item in page["items"]], page["has_more"]

    async def all_seqs(self, conversation_id: str) -> list[int]:
        """Every ``seq`` in the conversation, oldest first, paging forward with ``after``."""
        seqs: list[int] = []
        more = True
        while more:
            page, more = await self.page_seqs(
                conversation_id, f"after={seqs[-1] if seqs else 0}&limit={PAGE_LIMIT}"
            )
            if not page:
                break
            seqs += page
        return seqs

    def close(self) -> None:
        self._conn.close()


@contextlib.asynccontextmanager
async def signed_up(server: ServerProcess) -> AsyncIterator[ApiClient]:
    """An API client for a new user of ``server``, closed when the block ends."""
    client = ApiClient(server.host, server.port)
    try:
        await client.sign_up()
        yield client
    finally:
        client.close()
