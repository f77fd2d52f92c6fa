"""The event streams over real HTTP to the test's app (API.md §6): wire format, credentials, refusals,
statistics, and the hub letting go of every stream whose client has left."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.event_log import last_event_id
from tests.support.seed import seed_workspace
from tests.support.server import serving, streaming_client
from tests.support.sse import open_stream
from tests.support.teams import create_workspace
from tests.support.waiting import eventually
from threadline.settings import Settings

HEARTBEAT_SECONDS = 0.2
STREAM_TOKEN_TTL_SECONDS = 1
EVENT_KEYS = {"id", "type", "created_at", "workspace_id", "conversation_id", "actor_id", "data"}


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        sse_heartbeat_seconds=HEARTBEAT_SECONDS, stream_token_ttl_seconds=STREAM_TOKEN_TTL_SECONDS
    )


async def _seen(condition: bool) -> bool:
    return condition


async def stream_token(account: Account) -> str:
    response = await account.post("/v1/auth/stream-tokens")
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def test_a_stream_opens_with_retry_and_ready_then_carries_events_as_specified(
    app: FastAPI, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    async with (
        streaming_client(app) as http,
        http.stream("GET", "/v1/events", headers=alice.headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        chunks = response.aiter_bytes()
        opening = await anext(chunks)
        ready_id = await last_event_id(app)
        assert opening == f'retry: 3000\n\nevent: ready\ndata: {{"last_event_id": {ready_id}}}\n\n'.encode()

        conversation = await create_conversation(alice, workspace["id"], title="Plans")
        frame = (await anext(chunks)).decode()

    head, _, payload = frame.removesuffix("\n\n").partition("\ndata: ")
    assert head == f"id: {ready_id + 1}\nevent: conversation.created"
    event = json.loads(payload)
    assert set(event) == EVENT_KEYS
    assert event["id"] == ready_id + 1
    assert event["type"] == "conversation.created"
    assert event["workspace_id"] == workspace["id"]
    assert event["conversation_id"] == conversation["id"]
    assert event["actor_id"] == alice.id
    assert event["created_at"].endswith("Z")
    assert event["data"] == conversation


async def test_an_idle_stream_sends_heartbeat_comments(app: FastAPI, alice: Account) -> None:
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=alice.headers) as stream,
    ):
        await eventually(lambda: _seen(stream.comments >= 2), within=HEARTBEAT_SECONDS * 20)

        assert stream.comments >= 2


async def test_each_stream_carries_only_its_own_scope(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    other = await create_workspace(alice, "Other")
    first = await create_conversation(alice, workspace["id"])
    second = await create_conversation(alice, workspace["id"])
    async with (
        streaming_client(app) as http,
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=alice.headers) as in_workspace,
        open_stream(http, f"/v1/conversations/{first['id']}/events", headers=alice.headers) as in_first,
    ):
        await alice.post(f"/v1/conversations/{second['id']}/messages", json={"content": "second"})
        await alice.patch(f"/v1/workspaces/{other['id']}", json={"name": "Elsewhere"})
        await alice.post(f"/v1/conversations/{first['id']}/messages", json={"content": "first"})

        seen_in_workspace = [await in_workspace.next(), await in_workspace.next()]
        seen_in_first = await in_first.next()

    assert [event.json()["data"]["content"] for event in seen_in_workspace] == ["second", "first"]
    assert seen_in_first.json()["data"]["content"] == "first"


async def test_refused_streams_are_problem_documents_before_any_byte(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    async with streaming_client(app) as http:
        unauthenticated = await http.get("/v1/events")
        stranger_workspace = await http.get(f"/v1/workspaces/{workspace['id']}/events", headers=bob.headers)
        stranger_conversation = await http.get(
            f"/v1/conversations/{conversation['id']}/events", headers=bob.headers
        )
        malformed = await http.get("/v1/conversations/not-a-uuid/events", headers=alice.headers)

    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    for refused, status in ((stranger_workspace, 404), (stranger_conversation, 404), (malformed, 422)):
        assert refused.status_code == status
        assert refused.headers["content-type"] == "application/problem+json"
    assert stranger_workspace.json()["detail"] == "Workspace not found"


async def test_the_query_string_takes_stream_tokens_only(app: FastAPI, alice: Account) -> None:
    api_key = (await alice.post("/v1/auth/api-keys", json={"name": "cli"})).json()["key"]
    async with streaming_client(app) as http:
        for credential in (alice.token, api_key):
            refused = await http.get("/v1/events", params={"token": credential})
            assert refused.status_code == 401, credential
            assert refused.json()["code"] == "unauthenticated"

        async with open_stream(http, "/v1/events", params={"token": await stream_token(alice)}) as stream:
            assert stream.ready.event == "ready"
        as_bearer = await http.get(
            "/v1/events", headers={"Authorization": f"Bearer {await stream_token(alice)}"}
        )

    assert as_bearer.status_code == 401


async def test_a_stream_token_expires(app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    token = await stream_token(alice)
    tokens = app.state.resources.services.auth._tokens
    issued_at = tokens._clock()
    # The issuer's clock, moved past the token's life rather than waited out.
    monkeypatch.setattr(tokens, "_clock", lambda: issued_at + STREAM_TOKEN_TTL_SECONDS + 1)
    async with streaming_client(app) as http:
        expired = await http.get("/v1/events", params={"token": token})

    assert expired.status_code == 401
    assert expired.json()["detail"] == "The token has expired"


async def test_stats_count_this_process_streams_and_events(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=alice.headers),
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=alice.headers) as stream,
        open_stream(http, f"/v1/conversations/{conversation['id']}/events", headers=alice.headers),
    ):
        before = (await alice.get("/v1/events/stats")).json()
        await alice.post(f"/v1/conversations/{conversation['id']}/messages", json={"content": "hi"})
        await stream.next()
        after = (await alice.get("/v1/events/stats")).json()

    assert before["connections"] == 3
    assert before["streams"] == {"user": 1, "workspace": 1, "conversation": 1}
    assert after["events_published"] == before["events_published"] + 1
    assert after["instance"] == before["instance"] == app.state.resources.hub.instance


async def test_the_hub_forgets_every_stream_whose_client_left(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    seeded = await seed_workspace(app, alice, [(bob, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation
    paths = [
        "/v1/events",
        f"/v1/workspaces/{workspace['id']}/events",
        f"/v1/conversations/{conversation['id']}/events",
    ]
    hub = app.state.resources.hub
    async with streaming_client(app) as http:
        for account in (alice, bob):
            for path in paths:
                async with open_stream(http, path, headers=account.headers):
                    assert not hub.is_idle()

        async def idle() -> bool:
            return bool(hub.is_idle())

        await eventually(idle, within=10)

    assert sum(hub.stats().streams.values()) == 0


async def test_a_stream_whose_request_body_grows_past_the_limit_ends_and_is_forgotten(
    app: FastAPI, alice: Account, caplog: pytest.LogCaptureFixture
) -> None:
    """A chunked body (no Content-Length) is only found too large as the stream reads it, while it waits
    for the client to leave: the stream ends there, with a warning, and the hub lets go of it."""
    hub = app.state.resources.hub
    async with serving(app) as url:
        host, port = httpx.URL(url).host, httpx.URL(url).port
        reader, writer = await asyncio.open_connection(host, port)
        request = f"GET /v1/events HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
        request += "".join(f"{name}: {value}\r\n" for name, value in alice.headers.items())
        writer.write(request.encode() + b"\r\n")
        received = b""
        async with asyncio.timeout(10):
            while b"event: ready" not in received:
                received += await reader.read(4096)
        body = b"x" * (app.state.resources.settings.max_body_bytes + 1)
        writer.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        await writer.drain()
        writer.close()

        async def idle() -> bool:
            return bool(hub.is_idle())

        await eventually(idle, within=10)

    assert "ending a stream: reading its request failed" in [record.getMessage() for record in caplog.records]
