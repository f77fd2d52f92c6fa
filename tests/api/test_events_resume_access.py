"""A resumed stream replays exactly what a live stream delivered (API.md §6, guarantees 4 and 5): the
events of a workspace only from while the user was a member of it, not from before they joined nor from
while they were out, whatever their membership is now."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import last_event_id
from tests.support.seed import seed_workspace
from tests.support.server import streaming_client
from tests.support.sse import SseEvent, is_message, open_stream, types_and_contents
from tests.support.teams import add_member, create_workspace


async def resumed(
    http: httpx.AsyncClient, path: str, account: Account, after: int, last: dict[str, Any]
) -> list[SseEvent]:
    """What ``path`` replays to ``account`` after event ``after``, up to the message ``last``."""
    headers = account.headers | {"Last-Event-ID": str(after)}
    async with open_stream(http, path, headers=headers) as stream:
        return await stream.until(is_message(last))


async def test_a_resumed_stream_skips_what_happened_while_the_user_was_out(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    seeded = await seed_workspace(app, alice, [(bob, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation
    start = await last_event_id(app)
    async with streaming_client(app) as http:
        async with open_stream(http, "/v1/events", headers=bob.headers) as live:
            removed = await alice.delete(f"/v1/workspaces/{workspace['id']}/members/{bob.id}")
            assert removed.status_code == 204
            secret = await post_message(alice, conversation["id"], "while Bob is out")
            deleted = await alice.delete(f"/v1/conversations/{conversation['id']}/messages/{secret['id']}")
            assert deleted.status_code == 204
            await add_member(alice, workspace["id"], bob, "viewer")
            marker = await post_message(alice, conversation["id"], "Bob is back")
            live_events = await live.until(is_message(marker))

        paths = {
            "user": "/v1/events",
            "workspace": f"/v1/workspaces/{workspace['id']}/events",
            "conversation": f"/v1/conversations/{conversation['id']}/events",
        }
        replayed = {kind: await resumed(http, path, bob, start, marker) for kind, path in paths.items()}

    assert types_and_contents(live_events) == [
        ("member.removed", None),
        ("member.added", None),
        ("message.created", "Bob is back"),
    ]
    assert [event.id for event in replayed["user"]] == [event.id for event in live_events]
    assert types_and_contents(replayed["workspace"]) == types_and_contents(live_events)
    assert types_and_contents(replayed["conversation"]) == [("message.created", "Bob is back")]


async def test_a_new_member_resuming_from_before_they_joined_gets_no_earlier_history(
    app: FastAPI, alice: Account, client: httpx.AsyncClient
) -> None:
    carol = await sign_up(client, name="Carol")
    workspace = await create_workspace(alice)
    start = await last_event_id(app)
    conversation = await create_conversation(alice, workspace["id"])
    await post_message(alice, conversation["id"], "before Carol joined")
    await add_member(alice, workspace["id"], carol, "viewer")
    welcome = await post_message(alice, conversation["id"], "welcome")

    async with streaming_client(app) as http:
        user = await resumed(http, "/v1/events", carol, start, welcome)
        in_workspace = await resumed(http, f"/v1/workspaces/{workspace['id']}/events", carol, start, welcome)
        in_conversation = await resumed(
            http, f"/v1/conversations/{conversation['id']}/events", carol, start, welcome
        )

    since_joining = [("member.added", None), ("message.created", "welcome")]
    assert types_and_contents(user) == types_and_contents(in_workspace) == since_joining
    assert types_and_contents(in_conversation) == [("message.created", "welcome")]


async def test_a_resumed_stream_of_a_deleted_workspace_tells_only_what_a_live_one_did(
    app: FastAPI, alice: Account, bob: Account, client: httpx.AsyncClient
) -> None:
    carol = await sign_up(client, name="Carol")
    workspace = await create_workspace(alice)
    own = await create_workspace(bob, "Bob's own")
    own_conversation = await create_conversation(bob, own["id"])
    for member in (bob, carol):
        await add_member(alice, workspace["id"], member, "viewer")
    start = await last_event_id(app)
    async with streaming_client(app) as http:
        async with open_stream(http, "/v1/events", headers=bob.headers) as live:
            assert (await alice.delete(f"/v1/workspaces/{workspace['id']}")).status_code == 204
            marker = await post_message(bob, own_conversation["id"], "after")
            live_events = await live.until(is_message(marker))
        replayed = await resumed(http, "/v1/events", bob, start, marker)
        # A client can also drop between the deletion and the removals written with it.
        deleted_id = int(live_events[0].id)
        resumed_inside = await resumed(http, "/v1/events", bob, deleted_id, marker)

    # The other members' removals come after the workspace is gone: Bob hears only of his own.
    assert [event.event for event in live_events] == [
        "workspace.deleted",
        "member.removed",
        "message.created",
    ]
    assert [event.id for event in replayed] == [event.id for event in live_events]
    assert [event.id for event in resumed_inside] == [event.id for event in live_events[1:]]
