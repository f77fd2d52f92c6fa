"""Resuming a stream with ``Last-Event-ID`` (API.md §6, guarantee 4): replay, then live, with no gap and
no duplicate at the seam; ``reset`` when the id cannot be resumed from."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import (
    hub_reached,
    last_event_id,
    log_events_of_unknown_type,
    log_messages,
    prune_every_event,
)
from tests.support.server import streaming_client
from tests.support.sse import SseEvent, SseStream, open_stream
from tests.support.teams import create_workspace
from threadline.events.hub import READ_LIMIT
from threadline.models.domain.event import EventLogRead
from threadline.services.streams import REPLAY_BATCH, StreamService


def contents(events: list[SseEvent]) -> list[str]:
    return [event.json()["data"]["content"] for event in events]


async def posted(alice: Account, conversation: dict[str, Any], *texts: str) -> list[dict[str, Any]]:
    return [await post_message(alice, conversation["id"], text) for text in texts]


async def reset_reason(stream: SseStream) -> str:
    reset = await stream.next()
    assert reset.event == "reset", reset
    reason: str = reset.json()["reason"]
    return reason


@pytest.mark.parametrize("sent_as", ["header", "query"])
async def test_a_stream_resumes_after_the_given_id_then_continues_live(
    app: FastAPI, alice: Account, sent_as: str
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    path = f"/v1/conversations/{conversation['id']}/events"
    async with streaming_client(app) as http:
        async with open_stream(http, path, headers=alice.headers) as first:
            await posted(alice, conversation, "one", "two")
            seen = [await first.next(), await first.next()]
        await posted(alice, conversation, "three", "four")

        resume_from = str(seen[0].id)
        if sent_as == "header":
            headers, params = alice.headers | {"Last-Event-ID": resume_from}, None
        else:
            headers, params = alice.headers, {"last_event_id": resume_from}
        async with open_stream(http, path, headers=headers, params=params) as resumed:
            assert resumed.ready.json() == {"last_event_id": int(resume_from)}
            replayed = [await resumed.next() for _ in range(3)]
            await posted(alice, conversation, "five")
            live = await resumed.next()

    assert contents([*replayed, live]) == ["two", "three", "four", "five"]
    ids = [int(str(event.id)) for event in [*replayed, live]]
    assert ids == sorted(set(ids))


async def test_events_committed_during_the_replay_are_sent_once_in_order(
    app: FastAPI, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    path = f"/v1/workspaces/{workspace['id']}/events"
    await log_messages(app, conversation, [f"before {n}" for n in range(600)])
    texts = [f"during {n}" for n in range(50)]

    # The replay of 601 events takes two batches; posts land before, during and after it.
    async with (
        streaming_client(app) as http,
        open_stream(http, path, headers=alice.headers | {"Last-Event-ID": "0"}) as resumed,
    ):
        writer = asyncio.create_task(posted(alice, conversation, *texts))
        events = await resumed.until(
            lambda event: event.json()["data"].get("content") == texts[-1], within=60
        )
        await writer

    ids = [int(str(event.id)) for event in events]
    assert ids == sorted(set(ids))
    assert [event.event for event in events[:2]] == ["member.added", "conversation.created"]
    assert contents(events[2:]) == [f"before {n}" for n in range(600)] + texts


async def test_an_id_that_is_not_an_event_id_resets(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=alice.headers | {"Last-Event-ID": "yesterday"}) as stream,
    ):
        assert "not an event id" in await reset_reason(stream)
        conversation = await create_conversation(alice, workspace["id"])
        # The stream continues live after the reset.
        assert (await stream.next()).json()["data"] == conversation


async def test_an_id_from_beyond_the_log_resets_even_once_the_log_is_pruned_empty(
    app: FastAPI, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    await create_conversation(alice, workspace["id"])
    newest = await last_event_id(app)
    await hub_reached(app, newest)
    await prune_every_event(app)

    async with streaming_client(app) as http:
        for unknown in (newest + 1, 10**15):
            async with open_stream(
                http, "/v1/events", headers=alice.headers | {"Last-Event-ID": str(unknown)}
            ) as stream:
                assert "newer than the newest" in await reset_reason(stream)
        async with open_stream(
            http, "/v1/events", headers=alice.headers | {"Last-Event-ID": str(newest)}
        ) as stream:
            conversation = await create_conversation(alice, workspace["id"])
            assert (await stream.next()).json()["data"] == conversation


async def test_an_id_older_than_the_oldest_kept_event_resets(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    await posted(alice, conversation, "pruned")
    await prune_every_event(app)
    await posted(alice, conversation, "kept")

    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=alice.headers | {"Last-Event-ID": "1"}) as stream,
    ):
        assert "older than the oldest" in await reset_reason(stream)
        await posted(alice, conversation, "live")
        assert contents([await stream.next()]) == ["live"]


async def test_events_of_types_this_version_does_not_know_are_passed_over_live_and_in_replays(
    app: FastAPI, alice: Account
) -> None:
    """A newer version, mid-upgrade, may write event types this one cannot send: more of them in a row
    than a read returns must not stop the hub, nor end a replay early."""
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    path = f"/v1/conversations/{conversation['id']}/events"
    start = await last_event_id(app)
    async with streaming_client(app) as http:
        async with open_stream(http, path, headers=alice.headers) as live:
            await log_events_of_unknown_type(app, conversation, REPLAY_BATCH + READ_LIMIT)
            await posted(alice, conversation, "after them")
            assert contents([await live.next()]) == ["after them"]
        async with open_stream(http, path, headers=alice.headers | {"Last-Event-ID": str(start)}) as resumed:
            assert contents([await resumed.next()]) == ["after them"]


async def test_a_replay_that_finds_events_it_had_yet_to_send_pruned_ends_the_stream_for_a_reset(
    app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pruning may run between a resumed stream's check of its ``Last-Event-ID`` and its replay: the
    stream must not go on as if the pruned events had been sent."""
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    start = await last_event_id(app)
    await posted(alice, conversation, "pruned", "pruned too")
    replaying, pruned = asyncio.Event(), asyncio.Event()
    replay = StreamService.replay

    async def replay_after_the_prune(service: StreamService, *args: Any, **kwargs: Any) -> EventLogRead:
        replaying.set()
        await pruned.wait()
        return await replay(service, *args, **kwargs)

    monkeypatch.setattr(StreamService, "replay", replay_after_the_prune)
    path = f"/v1/conversations/{conversation['id']}/events"
    headers = alice.headers | {"Last-Event-ID": str(start)}
    async with streaming_client(app) as http, open_stream(http, path, headers=headers) as resumed:
        await asyncio.wait_for(replaying.wait(), 10)
        await prune_every_event(app)
        await posted(alice, conversation, "kept")
        pruned.set()
        assert await resumed.rest() == [], "the stream went on past events it never sent"

    monkeypatch.undo()
    async with streaming_client(app) as http, open_stream(http, path, headers=headers) as again:
        assert "older than the oldest" in await reset_reason(again)
