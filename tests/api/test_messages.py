"""Messages (API.md §5): post, get, page, edit and delete, and what they do to their conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, get_conversation, post_message
from tests.support.event_log import last_event_id, stored_events
from tests.support.teams import create_workspace

MESSAGE_FIELDS = {
    "id",
    "conversation_id",
    "seq",
    "role",
    "content",
    "metadata",
    "author_id",
    "status",
    "created_at",
    "updated_at",
}


async def _conversation(account: Account) -> dict[str, Any]:
    workspace = await create_workspace(account)
    return await create_conversation(account, workspace["id"])


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_posted_message_is_numbered_counted_and_logged(app: FastAPI, alice: Account) -> None:
    conversation = await _conversation(alice)
    before = await last_event_id(app)

    response = await alice.post(f"/v1/conversations/{conversation['id']}/messages", json={"content": "Hi"})

    assert response.status_code == 201, response.text
    message = response.json()
    assert set(message) == MESSAGE_FIELDS
    assert (message["seq"], message["role"], message["content"], message["metadata"]) == (1, "user", "Hi", {})
    assert (message["conversation_id"], message["author_id"]) == (conversation["id"], alice.id)
    assert message["created_at"] == message["updated_at"]
    now = await get_conversation(alice, conversation["id"])
    assert (now["message_count"], now["last_active_at"]) == (1, message["created_at"])
    [event] = await stored_events(app, after=before)
    assert (event.type, event.data, str(event.conversation_id)) == (
        "message.created",
        message,
        conversation["id"],
    )
    assert str(event.workspace_id) == conversation["workspace_id"]


async def test_role_and_metadata_are_kept(alice: Account) -> None:
    conversation = await _conversation(alice)

    message = await post_message(alice, conversation["id"], "Done", role="tool", metadata={"call": {"id": 7}})

    assert (message["role"], message["metadata"]) == ("tool", {"call": {"id": 7}})
    path = f"/v1/conversations/{conversation['id']}/messages/{message['id']}"
    assert (await alice.get(path)).json() == message


async def test_seq_counts_per_conversation(alice: Account) -> None:
    first, second = await _conversation(alice), await _conversation(alice)

    seqs = [
        (await post_message(alice, conversation["id"]))["seq"]
        for conversation in (first, first, second, first, second)
    ]

    assert seqs == [1, 2, 1, 3, 2]


async def test_a_message_is_found_only_in_its_own_conversation(alice: Account) -> None:
    first, second = await _conversation(alice), await _conversation(alice)
    message = await post_message(alice, first["id"])

    response = await alice.get(f"/v1/conversations/{second['id']}/messages/{message['id']}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_editing_changes_content_and_moves_activity(app: FastAPI, alice: Account) -> None:
    conversation = await _conversation(alice)
    message = await post_message(alice, conversation["id"], "Draft", metadata={"v": 1})
    before = await last_event_id(app)

    response = await alice.patch(
        f"/v1/conversations/{conversation['id']}/messages/{message['id']}", json={"content": "Final"}
    )

    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited == {**message, "content": "Final", "updated_at": edited["updated_at"]}
    assert _time(edited["updated_at"]) > _time(message["updated_at"])
    now = await get_conversation(alice, conversation["id"])
    assert (now["message_count"], now["last_active_at"]) == (1, edited["updated_at"])
    [event] = await stored_events(app, after=before)
    assert (event.type, event.data) == ("message.updated", edited)


async def test_deleting_hides_the_message_and_never_reuses_its_seq(app: FastAPI, alice: Account) -> None:
    conversation = await _conversation(alice)
    messages = [await post_message(alice, conversation["id"], f"m{n}") for n in range(3)]
    path = f"/v1/conversations/{conversation['id']}/messages"
    before = await last_event_id(app)

    assert (await alice.delete(f"{path}/{messages[2]['id']}")).status_code == 204

    assert (await alice.get(f"{path}/{messages[2]['id']}")).status_code == 404
    assert (await alice.delete(f"{path}/{messages[2]['id']}")).status_code == 404
    assert (await alice.patch(f"{path}/{messages[2]['id']}", json={"content": "x"})).status_code == 404
    listed = (await alice.get(path)).json()
    assert [message["seq"] for message in listed["items"]] == [1, 2]
    [event] = await stored_events(app, after=before)
    assert (event.type, event.data) == ("message.deleted", messages[2])
    now = await get_conversation(alice, conversation["id"])
    assert now["message_count"] == 2
    assert _time(now["last_active_at"]) > _time(messages[2]["created_at"])
    assert (await post_message(alice, conversation["id"]))["seq"] == 4


async def test_without_after_or_before_the_latest_come_oldest_first(alice: Account) -> None:
    conversation = await _conversation(alice)
    for n in range(5):
        await post_message(alice, conversation["id"], f"m{n}")
    path = f"/v1/conversations/{conversation['id']}/messages"

    latest = (await alice.get(path, params={"limit": 3})).json()
    everything = (await alice.get(path)).json()

    assert ([m["seq"] for m in latest["items"]], latest["has_more"]) == ([3, 4, 5], True)
    assert ([m["seq"] for m in everything["items"]], everything["has_more"]) == ([1, 2, 3, 4, 5], False)
    assert (await alice.get(path, params={"after": 5})).json() == {"items": [], "has_more": False}
    assert (await alice.get(path, params={"before": 1})).json() == {"items": [], "has_more": False}


async def test_paging_walks_every_message_once_forwards_and_backwards(alice: Account) -> None:
    conversation = await _conversation(alice)
    for n in range(23):
        await post_message(alice, conversation["id"], f"m{n}")
    path = f"/v1/conversations/{conversation['id']}/messages"
    listed = (await alice.get(path)).json()["items"]
    for gone in (listed[4], listed[5], listed[17]):
        assert (await alice.delete(f"{path}/{gone['id']}")).status_code == 204
    kept = [seq for seq in range(1, 24) if seq not in {5, 6, 18}]

    forwards: list[int] = []
    page = {"items": [{"seq": 0}], "has_more": True}
    while page["has_more"]:
        page = (await alice.get(path, params={"limit": 4, "after": page["items"][-1]["seq"]})).json()
        forwards += [message["seq"] for message in page["items"]]
    page = (await alice.get(path, params={"limit": 4})).json()
    backwards = [message["seq"] for message in page["items"]]
    while page["has_more"]:
        page = (await alice.get(path, params={"limit": 4, "before": page["items"][0]["seq"]})).json()
        backwards = [message["seq"] for message in page["items"]] + backwards

    assert forwards == kept
    assert backwards == kept
