"""Changes committed while a stream is being authorised (API.md §6, guarantees 3 to 5).

A stream subscribes to the hub, then reads the memberships and the log's newest id in one snapshot. On
PostgreSQL other transactions commit while that snapshot is open: these tests hold it open at a gate, make
the changes, and only then let the stream finish opening. (SQLite runs one transaction at a time, so there
the window does not exist.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import hub_reached, last_event_id
from tests.support.seed import seed_workspace
from tests.support.server import streaming_client
from tests.support.sse import SseEvent, is_message, open_stream
from tests.support.teams import add_member, create_workspace
from threadline.database.repositories.events import EventRepository
from threadline.models.domain.event import EventLogRead

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]


class AuthorisationGate:
    """Once armed, stops the next read of the log's bounds (a stream's authorisation reads them last in
    its snapshot) until ``release``."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self._released = asyncio.Event()
        self._armed = False

    def arm(self) -> None:
        self._armed = True

    async def hold(self) -> None:
        if self._armed:
            self._armed = False
            self.reached.set()
            await self._released.wait()

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> AuthorisationGate:
    gate = AuthorisationGate()
    bounds = EventRepository.bounds

    async def bounds_then_hold(repository: EventRepository) -> tuple[int | None, int | None]:
        found = await bounds(repository)
        await gate.hold()
        return found

    monkeypatch.setattr(EventRepository, "bounds", bounds_then_hold)
    return gate


async def open_across(
    gate: AuthorisationGate,
    opening: Callable[[], Awaitable[list[SseEvent]]],
    meanwhile: Callable[[], Awaitable[Any]],
) -> list[SseEvent]:
    """What the stream ``opening`` reads, when ``meanwhile`` runs while it is being authorised."""
    gate.arm()
    stream = asyncio.ensure_future(opening())
    await asyncio.wait_for(gate.reached.wait(), 10)
    await meanwhile()
    gate.release()
    return await asyncio.wait_for(stream, 15)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with streaming_client(app) as client:
        yield client


async def test_a_conversation_stream_of_a_workspace_deleted_meanwhile_says_so(
    app: FastAPI, http: httpx.AsyncClient, gate: AuthorisationGate, alice: Account, bob: Account
) -> None:
    seeded = await seed_workspace(app, alice, [(bob, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation

    async def opening() -> list[SseEvent]:
        async with open_stream(
            http, f"/v1/conversations/{conversation['id']}/events", headers=bob.headers
        ) as s:
            return await s.rest()

    async def delete_workspace() -> None:
        assert (await alice.delete(f"/v1/workspaces/{workspace['id']}")).status_code == 204
        await hub_reached(app, await last_event_id(app))

    got = await open_across(gate, opening, delete_workspace)

    assert [(event.event, event.json()) for event in got] == [("revoked", {"reason": "workspace deleted"})]


async def test_a_resume_id_beyond_the_authorisation_read_still_sees_a_removal_made_meanwhile(
    app: FastAPI, http: httpx.AsyncClient, gate: AuthorisationGate, alice: Account, bob: Account
) -> None:
    """A client that claims the next id (its own removal's) must not see what follows the removal, and
    goes on hearing the workspaces it still belongs to."""
    seeded = await seed_workspace(app, alice, [(bob, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation
    own_conversation = await create_conversation(bob, (await create_workspace(bob, "Bob's own"))["id"])
    read_at = await last_event_id(app)
    await hub_reached(app, read_at)
    marker: dict[str, Any] = {}

    async def opening() -> list[SseEvent]:
        headers = bob.headers | {"Last-Event-ID": str(read_at + 1)}
        async with open_stream(http, "/v1/events", headers=headers) as stream:
            return await stream.until(lambda event: bool(marker) and is_message(marker)(event))

    async def remove_bob_then_post() -> None:
        assert (await alice.delete(f"/v1/workspaces/{workspace['id']}/members/{bob.id}")).status_code == 204
        await post_message(alice, conversation["id"], "after Bob left")
        marker.update(await post_message(bob, own_conversation["id"], "in Bob's own workspace"))
        await hub_reached(app, await last_event_id(app))

    got = await open_across(gate, opening, remove_bob_then_post)

    assert [event.json()["data"].get("content") for event in got if event.event == "message.created"] == [
        "in Bob's own workspace"
    ]


async def test_a_stream_opened_while_the_hub_is_halfway_through_a_deletion_hears_only_its_own_removal(
    app: FastAPI,
    http: httpx.AsyncClient,
    gate: AuthorisationGate,
    alice: Account,
    bob: Account,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    carol, dave = await sign_up(client, name="Carol"), await sign_up(client, name="Dave")
    workspace = await create_workspace(alice)
    own_conversation = await create_conversation(bob, (await create_workspace(bob, "Bob's own"))["id"])
    for member in (carol, bob, dave):
        await add_member(alice, workspace["id"], member, "viewer")
    await hub_reached(app, await last_event_id(app))
    # The hub reads the deletion's events in two batches and holds the second until told.
    second_batch, halfway = asyncio.Event(), asyncio.Event()
    after = EventRepository.after

    async def after_in_batches(repository: EventRepository, event_id: int, *, limit: int) -> EventLogRead:
        if halfway.is_set():
            await second_batch.wait()
        found = await after(repository, event_id, limit=2 if not halfway.is_set() else limit)
        if any(event.type.value == "workspace.deleted" for event in found.events):
            halfway.set()
        return found

    marker: dict[str, Any] = {}
    opened = asyncio.Event()

    async def opening() -> list[SseEvent]:
        async with open_stream(http, "/v1/events", headers=bob.headers) as stream:
            opened.set()
            await asyncio.wait_for(second_batch.wait(), 10)
            await hub_reached(app, await last_event_id(app))
            marker.update(await post_message(bob, own_conversation["id"], "after"))
            return await stream.until(is_message(marker))

    async def delete_workspace_and_let_the_hub_read_half() -> None:
        monkeypatch.setattr(EventRepository, "after", after_in_batches)
        assert (await alice.delete(f"/v1/workspaces/{workspace['id']}")).status_code == 204
        await asyncio.wait_for(halfway.wait(), 10)

    gate.arm()
    stream = asyncio.ensure_future(opening())
    await asyncio.wait_for(gate.reached.wait(), 10)
    await delete_workspace_and_let_the_hub_read_half()
    gate.release()
    await asyncio.wait_for(opened.wait(), 10)
    second_batch.set()
    got = await asyncio.wait_for(stream, 15)

    removals = [event.json()["data"]["user_id"] for event in got if event.event == "member.removed"]
    # A new stream starts after what the hub had read when it opened: the deletion and a first removal.
    assert [event.event for event in got] == ["member.removed", "message.created"]
    assert removals == [bob.id]
