"""The HTTP conventions of API.md §1: problem documents for every error, request ids, the body limit, and
HEAD wherever GET is answered."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI, Response
from starlette.types import Message, Receive, Scope, Send

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.problems import assert_problem
from tests.support.server import serving
from tests.support.teams import create_workspace
from tests.support.waiting import eventually

ONE_MIB = 1024 * 1024
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
END_OF_BODY = {"type": "http.response.body", "body": b"", "more_body": False}
ANSWER_WITHIN_SECONDS = 5.0
"""A HEAD on an event stream must end by itself: a regression fails here instead of hanging."""


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body sent in pieces, without a Content-Length (chunked on a real connection)."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


async def over_asgi(
    app: FastAPI, method: str, path: str, headers: Mapping[str, str] | None = None
) -> tuple[Scope, list[Message]]:
    """Call ``app`` as a server would, one that never reports a disconnect; returns the scope it gave and
    every message the app sent it."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("203.0.113.7", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
        ],
    }
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("never reached")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async with asyncio.timeout(ANSWER_WITHIN_SECONDS):
        await app(scope, receive, send)
    return scope, sent


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        pytest.param("/v1/users/me", "DELETE, GET, HEAD, PATCH", id="users/me"),
        pytest.param("/v1/workspaces", "GET, HEAD, POST", id="workspaces"),
        pytest.param(f"/v1/workspaces/{uuid4()}", "DELETE, GET, HEAD, PATCH", id="a workspace"),
        pytest.param("/v1/auth/login", "POST", id="no GET, no HEAD"),
    ],
)
async def test_wrong_method_is_a_405_problem_allowing_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    """Each method of a path is a route of its own; ``Allow`` names them all, not only the first one's."""
    response = await client.put(path)

    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


async def test_validation_error_is_a_422_problem_listing_each_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/register", json={"email": "x", "password": "s3cr3t", "extra": 1})

    body = assert_problem(response, 422, "validation_error")
    assert {tuple(error["loc"]) for error in body["errors"]} == {
        ("body", "email"),
        ("body", "password"),
        ("body", "extra"),
    }
    assert "s3cr3t" not in response.text, "a refused value is not echoed back"


@pytest.mark.parametrize(
    "send_length",
    [pytest.param(True, id="with Content-Length"), pytest.param(False, id="chunked")],
)
async def test_a_body_over_one_mib_is_413(client: httpx.AsyncClient, send_length: bool) -> None:
    size = ONE_MIB + 1
    content = b" " * size if send_length else chunks(size)

    response = await client.post(
        "/v1/auth/register", content=content, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "send_length",
    [pytest.param(True, id="with Content-Length"), pytest.param(False, id="chunked")],
)
async def test_a_body_of_exactly_one_mib_is_read(client: httpx.AsyncClient, send_length: bool) -> None:
    content = b" " * ONE_MIB if send_length else chunks(ONE_MIB)

    response = await client.post(
        "/v1/auth/register", content=content, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 422, "validation_error")


async def test_an_oversized_body_is_refused_before_authentication(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/workspaces", content=b" " * (ONE_MIB + 1))

    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/health", 200, id="success"),
        pytest.param("GET", "/v1/users/me", 401, id="unauthenticated"),
        pytest.param("GET", "/v1/missing", 404, id="unknown route"),
        pytest.param("POST", "/v1/auth/login", 422, id="invalid"),
    ],
)
async def test_request_id_is_echoed(client: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    response = await client.request(method, path, headers={"X-Request-ID": "trace-42"})

    assert response.status_code == status
    assert response.headers["x-request-id"] == "trace-42"


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(None, id="none sent"),
        pytest.param("x" * 201, id="too long"),
        pytest.param("", id="empty"),
        pytest.param("trace-é".encode(), id="not ascii"),
    ],
)
async def test_request_id_is_generated_when_none_usable_was_sent(
    client: httpx.AsyncClient, sent: str | bytes | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}

    first = await client.get("/v1/missing", headers=headers)
    second = await client.get("/v1/missing", headers=headers)

    assert GENERATED_ID.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.json()["request_id"] == first.headers["x-request-id"]


async def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing(
    app: FastAPI, alice: Account
) -> None:
    async def explode() -> None:
        raise RuntimeError("SELECT password_hash FROM users -- internal detail")

    app.add_api_route("/v1/test-explode", explode)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/v1/test-explode", headers={"X-Request-ID": "boom-1"})

    assert_problem(response, 500, "internal_error")
    assert response.headers["x-request-id"] == "boom-1"
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("path", "signed_in", "status", "content_type"),
    [
        pytest.param("/health", False, 200, "application/json", id="health"),
        pytest.param("/v1/users/me", True, 200, "application/json", id="users/me"),
        pytest.param("/v1/users/me", False, 401, "application/problem+json", id="users/me unauthenticated"),
        pytest.param("/v1/workspaces?limit=1", True, 200, "application/json", id="a page"),
        pytest.param("/v1/workspaces?limit=0", True, 422, "application/problem+json", id="an invalid query"),
    ],
)
async def test_head_answers_the_status_and_headers_of_get_without_a_body(
    client: httpx.AsyncClient, alice: Account, path: str, signed_in: bool, status: int, content_type: str
) -> None:
    headers = {**(alice.headers if signed_in else {}), "X-Request-ID": "head-1"}

    got = await client.get(path, headers=headers)
    head = await client.head(path, headers=headers)

    assert (got.status_code, head.status_code) == (status, status)
    assert head.headers["content-type"] == got.headers["content-type"] == content_type
    assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
    assert head.headers.get("www-authenticate") == got.headers.get("www-authenticate")
    assert head.content == b""


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/health", 200, id="success"),
        pytest.param("/v1/auth/login", 405, id="a route without GET"),
        pytest.param("/v1/nothing-here", 404, id="unknown route"),
    ],
)
async def test_head_sends_the_server_the_start_of_get_then_one_empty_body(
    app: FastAPI, path: str, status: int
) -> None:
    """Status and headers (Allow on a 405 included) exactly as for GET; and the server's scope still says
    HEAD, which is how a server knows to write no body."""
    _, got = await over_asgi(app, "GET", path, {"X-Request-ID": "head-2"})
    scope, sent = await over_asgi(app, "HEAD", path, {"X-Request-ID": "head-2"})

    assert sent[0] == got[0]
    assert sent[0]["status"] == status
    assert sent[1:] == [END_OF_BODY]
    assert scope["method"] == "HEAD"


async def test_metrics_count_a_head_under_head_and_its_route(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.head("/health")

    requests = app.state.resources.metrics.registry.get_sample_value(
        "threadline_http_requests_total", {"method": "HEAD", "route": "/health", "status": "200"}
    )
    assert requests == 1


@pytest.mark.parametrize("kind", ["user", "workspace", "conversation"])
async def test_head_on_an_event_stream_answers_its_headers_and_ends(
    app: FastAPI, alice: Account, kind: str
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    path = {
        "user": "/v1/events",
        "workspace": f"/v1/workspaces/{workspace['id']}/events",
        "conversation": f"/v1/conversations/{conversation['id']}/events",
    }[kind]
    registry = app.state.resources.metrics.registry

    async def no_stream_open() -> bool:
        return bool(registry.get_sample_value("threadline_sse_open_streams") == 0)

    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        async with asyncio.timeout(ANSWER_WITHIN_SECONDS):
            response = await http.head(path, headers=alice.headers)
        await eventually(no_stream_open, within=ANSWER_WITHIN_SECONDS)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == b""
    assert sum(app.state.resources.hub.stats().streams.values()) == 0


async def test_head_on_an_event_stream_ends_though_the_server_never_reports_a_disconnect(
    app: FastAPI, alice: Account
) -> None:
    """The stream learns that its answer is complete from the middleware, not only from the server."""
    _, sent = await over_asgi(app, "HEAD", "/v1/events", alice.headers)

    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream") in sent[0]["headers"]
    assert sent[1:] == [END_OF_BODY]
    assert app.state.resources.metrics.registry.get_sample_value("threadline_sse_open_streams") == 0


class WaitsForTheClientFromBeforeItsAnswer(Response):
    """Like an event stream: it starts waiting for the client to leave before it sends a byte, and ends only
    when it has."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_read = asyncio.Event()

        async def until_the_client_leaves() -> None:
            await receive()
            request_read.set()
            while (await receive())["type"] != "http.disconnect":
                pass

        watcher = asyncio.create_task(until_the_client_leaves())
        await request_read.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await watcher
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def test_head_tells_a_receive_already_waiting_that_the_answer_is_complete(app: FastAPI) -> None:
    async def wait_for_the_client() -> Response:
        return WaitsForTheClientFromBeforeItsAnswer()

    app.add_api_route("/v1/test-waits", wait_for_the_client)

    _, sent = await over_asgi(app, "HEAD", "/v1/test-waits")

    assert sent[0]["status"] == 200
    assert sent[1:] == [END_OF_BODY]


async def test_a_refused_head_on_an_event_stream_is_the_problem_get_answers(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    workspace = await create_workspace(alice)
    refusals = [
        ("/v1/events", {}, 401),
        (f"/v1/workspaces/{workspace['id']}/events", bob.headers, 404),
    ]

    for path, headers, status in refusals:
        got = await client.get(path, headers=headers)
        head = await client.head(path, headers=headers)

        assert (got.status_code, head.status_code) == (status, status), path
        assert head.headers["content-type"] == got.headers["content-type"] == "application/problem+json"
        assert head.headers["content-length"] == got.headers["content-length"]
        assert head.content == b""
