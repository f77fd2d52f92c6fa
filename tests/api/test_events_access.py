"""Access changes reach open streams at once (API.md §6, guarantee 5): a removed member stops hearing the
workspace, and a stream scoped to something the caller can no longer see ends with ``revoked``."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import hub_reached, last_event_id, log_messages
from tests.support.seed import seed_workspace
from tests.support.server import streaming_client
from tests.support.sse import SseEvent, open_stream
from tests.support.teams import add_member, create_workspace
from threadline.models.domain.event import Event
from threadline.services.streams import REPLAY_BATCH, OpenedStream, StreamService


def kinds(events: list[SseEvent]) -> list[str]:
    return [event.event for event in events]


async def test_a_removed_member_is_revoked_and_stops_hearing_the_workspace(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    workspace = await create_workspace(alice)
    own = await create_workspace(bob, "Bob's own")
    await add_member(alice, workspace["id"], bob, "editor")
    conversation = await create_conversation(alice, workspace["id"])
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=bob.headers) as everything,
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=bob.headers) as in_workspace,
        open_stream(
            http, f"/v1/conversations/{conversation['id']}/events", headers=bob.headers
        ) as in_conversation,
    ):
        removed = await alice.delete(f"/v1/workspaces/{workspace['id']}/members/{bob.id}")
        assert removed.status_code == 204
        await post_message(alice, conversation["id"], "after Bob left")
        marker = await create_conversation(bob, own["id"], title="marker")

        assert kinds(await in_workspace.rest()) == ["member.removed", "revoked"]
        assert kinds(await in_conversation.rest()) == ["revoked"]
        heard = [await everything.next(), await everything.next()]

    assert heard[0].event == "member.removed"
    assert heard[0].json()["data"]["user_id"] == bob.id
    # Alice's message came in between, and did not reach Bob: the next thing he hears is his own.
    assert heard[1].json()["data"] == marker


async def test_the_revoked_event_says_why(app: FastAPI, alice: Account, bob: Account) -> None:
    workspace = (await seed_workspace(app, alice, [(bob, "viewer")])).workspace
    async with (
        streaming_client(app) as http,
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=bob.headers) as stream,
    ):
        await bob.delete(f"/v1/workspaces/{workspace['id']}/members/{bob.id}")
        events = await stream.rest()

    assert events[-1].event == "revoked"
    assert events[-1].json() == {"reason": "membership ended"}


async def test_a_deleted_conversation_is_delivered_then_its_streams_end(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    async with (
        streaming_client(app) as http,
        open_stream(http, f"/v1/conversations/{conversation['id']}/events", headers=alice.headers) as stream,
    ):
        assert (await alice.delete(f"/v1/conversations/{conversation['id']}")).status_code == 204
        events = await stream.rest()

    assert kinds(events) == ["conversation.deleted", "revoked"]
    assert events[-1].json() == {"reason": "conversation deleted"}


async def test_a_deleted_workspace_ends_its_streams_and_tells_each_member(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    seeded = await seed_workspace(app, alice, [(bob, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=bob.headers) as everything,
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=alice.headers) as in_workspace,
        open_stream(
            http, f"/v1/conversations/{conversation['id']}/events", headers=bob.headers
        ) as in_conversation,
    ):
        assert (await alice.delete(f"/v1/workspaces/{workspace['id']}")).status_code == 204

        assert kinds(await in_workspace.rest()) == ["workspace.deleted", "revoked"]
        assert kinds(await in_conversation.rest()) == ["revoked"]
        heard = [await everything.next(), await everything.next()]

    assert kinds(heard) == ["workspace.deleted", "member.removed"]
    assert heard[1].json()["data"]["user_id"] == bob.id


async def test_a_new_member_starts_hearing_the_workspace_at_once(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=bob.headers) as everything,
    ):
        await add_member(alice, workspace["id"], bob, "viewer")
        message = await post_message(alice, conversation["id"], "welcome")

        heard = [await everything.next(), await everything.next()]

    assert kinds(heard) == ["member.added", "message.created"]
    assert heard[1].json()["data"] == message


async def test_a_stream_revoked_during_its_replay_sends_the_rest_of_it_first(
    app: FastAPI, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await seed_workspace(app, alice, [(bob, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation
    start = await last_event_id(app)
    texts = [f"before {n}" for n in range(REPLAY_BATCH + 10)]
    await log_messages(app, conversation, texts)
    await hub_reached(app, await last_event_id(app))
    replay = StreamService.replay

    async def removed_after_the_first_batch(
        self: StreamService, stream: OpenedStream, *, after: int
    ) -> list[Event]:
        """Bob is removed while his resumed stream replays: between its first and second batch."""
        events = await replay(self, stream, after=after)
        if after == start:
            assert (
                await alice.delete(f"/v1/workspaces/{workspace['id']}/members/{bob.id}")
            ).status_code == 204
            await hub_reached(app, await last_event_id(app))
            assert stream.subscription.end_reason is not None
        return events

    monkeypatch.setattr(StreamService, "replay", removed_after_the_first_batch)
    headers = bob.headers | {"Last-Event-ID": str(start)}
    async with (
        streaming_client(app) as http,
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=headers) as stream,
    ):
        events = await stream.rest()

    assert [event.json()["data"].get("content") for event in events[:-2]] == texts
    assert kinds(events[-2:]) == ["member.removed", "revoked"]


async def test_revoking_an_api_key_ends_the_streams_it_opened_and_no_others(
    app: FastAPI, alice: Account
) -> None:
    """API.md §2: a revoked key "stops working at once", for the streams it holds open too."""
    workspace = await create_workspace(alice)
    key = (await alice.post("/v1/auth/api-keys", json={"name": "integration"})).json()
    by_key = {"Authorization": f"Bearer {key['key']}"}
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=by_key) as everything_by_key,
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=by_key) as workspace_by_key,
        open_stream(http, f"/v1/workspaces/{workspace['id']}/events", headers=alice.headers) as by_token,
    ):
        revoked = await alice.delete(f"/v1/auth/api-keys/{key['id']}")
        assert revoked.status_code == 204
        endings = [await everything_by_key.rest(), await workspace_by_key.rest()]
        conversation = await create_conversation(alice, workspace["id"])
        heard = await by_token.next()
        refused = await http.get(f"/v1/workspaces/{workspace['id']}/events", headers=by_key)

    for ending in endings:
        assert kinds(ending) == ["revoked"]
        assert "API key" in ending[0].json()["reason"]
    assert heard.json()["data"] == conversation
    assert refused.status_code == 401


async def test_a_stream_token_asked_for_with_an_api_key_stops_working_with_the_key(
    app: FastAPI, alice: Account
) -> None:
    key = (await alice.post("/v1/auth/api-keys", json={"name": "browser bridge"})).json()
    by_key = {"Authorization": f"Bearer {key['key']}"}
    token = (await alice.post("/v1/auth/stream-tokens", headers=by_key)).json()["token"]
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", params={"token": token}) as stream,
    ):
        assert (await alice.delete(f"/v1/auth/api-keys/{key['id']}")).status_code == 204
        ending = await stream.rest()
        refused = await http.get("/v1/events", params={"token": token})

    assert kinds(ending) == ["revoked"]
    assert refused.status_code == 401
