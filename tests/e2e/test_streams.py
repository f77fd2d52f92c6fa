"""Black-box tests of the event streams against a real ``threadline serve`` process, with real SSE clients
over HTTP (API.md §6), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.metrics import samples
from tests.support.server import HOST, ServerProcess, running_server
from tests.support.sse import SseEvent, SseStream, StalledReader, StreamClosed, open_stream
from tests.support.teams import add_member, create_workspace
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 30.0
STREAM_TOKEN_SECONDS = 2
QUEUE_SIZE = 32
"""Small, so that a stalled reader overflows its queue soon."""
BURST = 500
BIG_POSTS = 120
"""Enough ~90 KB messages to fill every buffer between the server and a client that stopped reading."""
Key = tuple[str, str]
"""An event as the script knows it: its type, and the id of its member, conversation or message (for a
renamed workspace, its new name)."""


@pytest.fixture(scope="module")
async def e2e_server(
    e2e_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("server")
    settings = {"sse_queue_size": QUEUE_SIZE, "stream_token_ttl_seconds": STREAM_TOKEN_SECONDS}
    async with running_server(e2e_database, workdir, **settings) as server:
        yield server


@pytest.fixture
async def api(e2e_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the real server, with room for many concurrent requests."""
    async with httpx.AsyncClient(
        base_url=e2e_server.url, limits=httpx.Limits(max_connections=50), timeout=WAIT_SECONDS
    ) as client:
        yield client


def big_content(number: int) -> str:
    return f"#{number} " + "x" * 90_000


def key(event: SseEvent) -> Key:
    data = event.json()["data"]
    if event.event.startswith("member."):
        return event.event, str(data["user_id"])
    if event.event == "workspace.updated":
        return event.event, str(data["name"])
    return event.event, str(data["id"])


def event_ids(events: list[SseEvent]) -> list[int]:
    return [int(str(event.id)) for event in events]


async def ok(response: httpx.Response) -> None:
    assert response.is_success, response.text


async def test_every_subscriber_hears_exactly_its_scope_once_in_order(api: httpx.AsyncClient) -> None:
    alice, bob, carol, dave = [await sign_up(api, name=name) for name in ("Alice", "Bob", "Carol", "Dave")]
    team = await create_workspace(alice, "Team")
    carols = await create_workspace(carol, "Carol's")
    daves = await create_workspace(dave, "Dave's")
    subscribers = {
        "alice": (alice, "/v1/events"),
        "alice in team": (alice, f"/v1/workspaces/{team['id']}/events"),
        "bob": (bob, "/v1/events"),
        "carol": (carol, "/v1/events"),
        "dave": (dave, "/v1/events"),
        "dave in his": (dave, f"/v1/workspaces/{daves['id']}/events"),
    }
    async with contextlib.AsyncExitStack() as stack:
        streams = {
            name: await stack.enter_async_context(open_stream(api, path, headers=account.headers))
            for name, (account, path) in subscribers.items()
        }
        await add_member(alice, team["id"], bob, "editor")
        conversation = await create_conversation(bob, team["id"], title="Plans")
        path = f"/v1/conversations/{conversation['id']}"
        in_conversation = await stack.enter_async_context(
            open_stream(api, f"{path}/events", headers=alice.headers)
        )
        first = await post_message(alice, conversation["id"], "first")
        second = await post_message(bob, conversation["id"], "second")
        elsewhere = await create_conversation(dave, daves["id"])
        not_for_the_team = await post_message(dave, elsewhere["id"], "elsewhere")
        await ok(await alice.patch(f"{path}/messages/{first['id']}", json={"content": "first!"}))
        await ok(await bob.patch(path, json={"title": "Plans, v2"}))
        await ok(await alice.patch(f"/v1/workspaces/{team['id']}", json={"name": "The Team"}))
        await add_member(alice, team["id"], carol, "viewer")
        await ok(await alice.patch(f"/v1/workspaces/{team['id']}/members/{bob.id}", json={"role": "viewer"}))
        await ok(await alice.delete(f"{path}/messages/{second['id']}"))
        scratch = await create_conversation(alice, team["id"], title="Scratch")
        await ok(await alice.delete(f"/v1/conversations/{scratch['id']}"))
        await ok(await carol.delete(f"/v1/workspaces/{team['id']}/members/{carol.id}"))
        third = await post_message(alice, conversation["id"], "third")
        for owner, workspace in ((alice, team), (carol, carols), (dave, daves)):
            await ok(
                await owner.patch(f"/v1/workspaces/{workspace['id']}", json={"name": f"{owner.id} done"})
            )

        conversation_events = [
            ("message.created", first["id"]),
            ("message.created", second["id"]),
            ("message.updated", first["id"]),
            ("conversation.updated", conversation["id"]),
            ("message.deleted", second["id"]),
            ("message.created", third["id"]),
        ]
        while_carol_was_in = [
            ("member.added", carol.id),
            ("member.updated", bob.id),
            ("message.deleted", second["id"]),
            ("conversation.created", scratch["id"]),
            ("conversation.deleted", scratch["id"]),
            ("member.removed", carol.id),
        ]
        team_events = [
            ("member.added", bob.id),
            ("conversation.created", conversation["id"]),
            *conversation_events[:4],
            ("workspace.updated", "The Team"),
            *while_carol_was_in,
            ("message.created", third["id"]),
            ("workspace.updated", f"{alice.id} done"),
        ]
        daves_events = [
            ("conversation.created", elsewhere["id"]),
            ("message.created", not_for_the_team["id"]),
            ("workspace.updated", f"{dave.id} done"),
        ]
        expected = {
            "alice": team_events,
            "alice in team": team_events,
            "bob": team_events,
            "carol": [*while_carol_was_in, ("workspace.updated", f"{carol.id} done")],
            "dave": daves_events,
            "dave in his": daves_events,
        }
        heard = {name: await heard_until(stream, expected[name][-1]) for name, stream in streams.items()}
        heard_in_conversation = await heard_until(in_conversation, conversation_events[-1])

    assert [key(event) for event in heard_in_conversation] == conversation_events
    for name, events in heard.items():
        assert [key(event) for event in events] == expected[name], name
        assert event_ids(events) == sorted(set(event_ids(events))), name
    assert event_ids(heard["alice"]) == event_ids(heard["alice in team"]) == event_ids(heard["bob"])
    assert set(event_ids(heard["carol"])[:-1]) < set(event_ids(heard["alice"]))


async def heard_until(stream: SseStream, last: Key) -> list[SseEvent]:
    """Every event up to ``last``; the stream must not carry anything else before it."""
    return await stream.until(lambda event: key(event) == last, within=WAIT_SECONDS)


async def test_a_reconnect_in_the_middle_of_a_burst_misses_nothing_and_repeats_nothing(
    api: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(api, name="Alice"), await sign_up(api, name="Bob")
    team = await create_workspace(alice)
    await add_member(alice, team["id"], bob, "editor")
    conversation = await create_conversation(alice, team["id"])
    path = f"/v1/conversations/{conversation['id']}/events"
    authors = itertools.cycle((alice, bob))
    posts = [post_message(next(authors), conversation["id"], f"#{number}") for number in range(BURST)]

    async with open_stream(api, path, headers=alice.headers) as first:
        burst = asyncio.ensure_future(asyncio.gather(*posts))
        before = await read_resuming(api, path, alice.headers, first, BURST // 4)
    async with open_stream(
        api, path, headers=alice.headers | {"Last-Event-ID": str(before[-1].id)}
    ) as resumed:
        after = await read_resuming(api, path, alice.headers, resumed, BURST - len(before))
    posted = await burst

    assert_once_in_order(before + after, [message["id"] for message in posted])


async def read_resuming(
    api: httpx.AsyncClient, path: str, headers: dict[str, str], stream: SseStream, count: int
) -> list[SseEvent]:
    """Read ``count`` events as a well-behaved client does: when the server closes a stream that fell
    behind (its queue is only ``QUEUE_SIZE`` here), reconnect with the last id seen and go on."""
    events: list[SseEvent] = []
    async with contextlib.AsyncExitStack() as reconnections:
        while len(events) < count:
            try:
                events.append(await stream.next(WAIT_SECONDS))
            except StreamClosed:
                resume = {"Last-Event-ID": str(events[-1].id)} if events else {}
                stream = await reconnections.enter_async_context(
                    open_stream(api, path, headers=headers | resume)
                )
    return events


def assert_once_in_order(events: list[SseEvent], message_ids: list[str]) -> None:
    """Each message's event exactly once, event ids rising, and ``seq`` rising with them."""
    assert {event.event for event in events} == {"message.created"}
    assert sorted(event.json()["data"]["id"] for event in events) == sorted(message_ids)
    assert event_ids(events) == sorted(set(event_ids(events)))
    seqs = [event.json()["data"]["seq"] for event in events]
    assert seqs == sorted(seqs)


@pytest.mark.parametrize(
    "resume",
    [{"headers": {"Last-Event-ID": "999999999999"}}, {"params": {"last_event_id": "not-an-id"}}],
    ids=["unknown", "malformed"],
)
async def test_an_unusable_last_event_id_resets_and_the_stream_continues_live(
    api: httpx.AsyncClient, resume: dict[str, dict[str, str]]
) -> None:
    alice = await sign_up(api)
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
    headers = alice.headers | resume.get("headers", {})
    path = f"/v1/conversations/{conversation['id']}/events"

    async with open_stream(api, path, headers=headers, params=resume.get("params")) as stream:
        reset = await stream.next()
        message = await post_message(alice, conversation["id"])
        live = await stream.next()

    assert reset.event == "reset"
    assert reset.json()["reason"]
    assert live.json()["data"] == message


async def test_removing_a_member_revokes_their_streams_of_the_workspace(api: httpx.AsyncClient) -> None:
    alice, bob = await sign_up(api, name="Alice"), await sign_up(api, name="Bob")
    team = await create_workspace(alice)
    await add_member(alice, team["id"], bob, "viewer")
    conversation = await create_conversation(alice, team["id"])
    async with (
        open_stream(api, f"/v1/workspaces/{team['id']}/events", headers=bob.headers) as in_team,
        open_stream(api, f"/v1/conversations/{conversation['id']}/events", headers=bob.headers) as in_chat,
    ):
        await ok(await alice.delete(f"/v1/workspaces/{team['id']}/members/{bob.id}"))

        in_team_events = await in_team.rest(WAIT_SECONDS)
        in_chat_events = await in_chat.rest(WAIT_SECONDS)

    assert [event.event for event in in_team_events] == ["member.removed", "revoked"]
    assert [event.event for event in in_chat_events] == ["revoked"]
    refused = await bob.get(f"/v1/conversations/{conversation['id']}/events")
    assert refused.status_code == 404


async def test_a_stalled_reader_is_cut_off_while_a_healthy_one_keeps_up(
    api: httpx.AsyncClient, e2e_server: ServerProcess
) -> None:
    alice = await sign_up(api)
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
    path = f"/v1/conversations/{conversation['id']}/events"
    cut_off_before = await _streams_cut_off(api)
    stalled = await StalledReader.connect(HOST, e2e_server.port, path, alice.headers)
    try:
        async with open_stream(api, path, headers=alice.headers) as healthy:
            posted = [await post_message(alice, conversation["id"], big_content(n)) for n in range(BIG_POSTS)]
            heard = [await healthy.next(WAIT_SECONDS) for _ in posted]

            async def cut_off() -> bool:
                stats = (await alice.get("/v1/events/stats")).json()
                return bool(stats["streams"]["conversation"] == 1)

            await eventually(cut_off, within=WAIT_SECONDS)
        received = await stalled.read_to_end()
    finally:
        stalled.close()

    assert [event.json()["data"]["id"] for event in heard] == [message["id"] for message in posted]
    # The stalled client gets what was already on its way, then the end of the connection.
    assert 0 < received.count(b"event: message.created\n") < BIG_POSTS
    # Cut off on purpose, quietly: not one of the server's complaints about an unfinished response.
    assert "without completing response" not in e2e_server.log_path.read_text()
    assert await _streams_cut_off(api) == cut_off_before + 1


async def _streams_cut_off(api: httpx.AsyncClient) -> float:
    [cut_off] = samples((await api.get("/metrics")).text, "threadline_sse_streams_cut_off_total")
    return cut_off.value


async def test_stream_tokens_work_in_the_query_string_until_they_expire(api: httpx.AsyncClient) -> None:
    alice = await sign_up(api)
    token = (await alice.post("/v1/auth/stream-tokens")).json()["token"]

    async with open_stream(api, "/v1/events", params={"token": token}) as stream:
        assert stream.ready.event == "ready"
    refused_access_token = await api.get("/v1/events", params={"token": alice.token})
    await asyncio.sleep(STREAM_TOKEN_SECONDS + 1)
    expired = await api.get("/v1/events", params={"token": token})

    assert refused_access_token.status_code == 401
    assert expired.status_code == 401
    assert expired.json()["detail"] == "The token has expired"
