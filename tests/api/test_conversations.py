"""Conversations (API.md §4): create, list, get (with messages), update and delete, with their events."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, get_conversation, post_message
from tests.support.event_log import last_event_id, stored_events, unit_of_work
from tests.support.teams import create_workspace

CONVERSATION_FIELDS = {
    "id",
    "workspace_id",
    "title",
    "modality",
    "metadata",
    "message_count",
    "created_at",
    "updated_at",
    "last_active_at",
}


async def test_a_new_conversation_has_the_defaults_and_its_event(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    before = await last_event_id(app)

    response = await alice.post(f"/v1/workspaces/{workspace['id']}/conversations", json={})

    assert response.status_code == 201, response.text
    conversation = response.json()
    assert set(conversation) == CONVERSATION_FIELDS
    assert conversation["workspace_id"] == workspace["id"]
    assert (conversation["title"], conversation["modality"], conversation["metadata"]) == ("", "chat", {})
    assert conversation["message_count"] == 0
    assert conversation["created_at"] == conversation["updated_at"] == conversation["last_active_at"]
    assert conversation["created_at"].endswith("Z")
    [event] = await stored_events(app, after=before)
    assert event.type == "conversation.created"
    assert (str(event.workspace_id), str(event.conversation_id)) == (workspace["id"], conversation["id"])
    assert str(event.actor_id) == alice.id
    assert event.data == conversation


async def test_title_is_stripped_and_modality_and_metadata_are_kept(alice: Account) -> None:
    workspace = await create_workspace(alice)

    conversation = await create_conversation(
        alice, workspace["id"], title="  Standup  ", modality="voice", metadata={"lang": "en"}
    )

    assert (conversation["title"], conversation["modality"]) == ("Standup", "voice")
    assert conversation["metadata"] == {"lang": "en"}
    assert await get_conversation(alice, conversation["id"]) == conversation


async def test_include_messages_carries_the_latest_fifty_oldest_first(alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    for number in range(1, 56):
        await post_message(alice, conversation["id"], f"message {number}")

    plain = await get_conversation(alice, conversation["id"])
    response = await alice.get(f"/v1/conversations/{conversation['id']}", params={"include": "messages"})

    assert "messages" not in plain
    assert response.status_code == 200, response.text
    included = response.json()
    assert [message["seq"] for message in included.pop("messages")] == list(range(6, 56))
    assert included == plain
    assert plain["message_count"] == 55


async def test_include_of_an_empty_conversation_is_an_empty_list(alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])

    response = await alice.get(f"/v1/conversations/{conversation['id']}?include=messages")

    assert response.json()["messages"] == []


async def test_list_is_most_recently_active_first_and_pages_with_a_cursor(alice: Account) -> None:
    workspace = await create_workspace(alice)
    first, second, third = [await create_conversation(alice, workspace["id"], title=t) for t in "abc"]
    await post_message(alice, first["id"])
    path = f"/v1/workspaces/{workspace['id']}/conversations"

    page_one = (await alice.get(path, params={"limit": 2})).json()
    page_two = (await alice.get(path, params={"limit": 2, "cursor": page_one["next_cursor"]})).json()

    listed = [item["id"] for item in page_one["items"] + page_two["items"]]
    assert listed == [first["id"], third["id"], second["id"]]
    assert page_two["next_cursor"] is None
    assert page_one["items"][0]["message_count"] == 1


async def test_list_filters_by_modality(alice: Account) -> None:
    workspace = await create_workspace(alice)
    await create_conversation(alice, workspace["id"])
    voice = await create_conversation(alice, workspace["id"], modality="voice")
    path = f"/v1/workspaces/{workspace['id']}/conversations"

    voices = (await alice.get(path, params={"modality": "voice"})).json()
    videos = (await alice.get(path, params={"modality": "video"})).json()

    assert [item["id"] for item in voices["items"]] == [voice["id"]]
    assert videos == {"items": [], "next_cursor": None}


async def test_a_workspace_lists_only_its_own_conversations(alice: Account) -> None:
    mine, other = await create_workspace(alice, "Mine"), await create_workspace(alice, "Other")
    await create_conversation(alice, other["id"])

    listed = await alice.get(f"/v1/workspaces/{mine['id']}/conversations")

    assert listed.json() == {"items": [], "next_cursor": None}


async def test_update_changes_title_and_metadata_only(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"], title="Old", metadata={"a": 1})
    before = await last_event_id(app)

    response = await alice.patch(f"/v1/conversations/{conversation['id']}", json={"title": " New "})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["title"], updated["metadata"], updated["modality"]) == ("New", {"a": 1}, "chat")
    assert updated["updated_at"] == updated["last_active_at"]
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(conversation["updated_at"])
    assert updated["created_at"] == conversation["created_at"]
    [event] = await stored_events(app, after=before)
    assert (event.type, event.data) == ("conversation.updated", updated)
    assert await get_conversation(alice, conversation["id"]) == updated


async def test_delete_removes_the_conversation_and_its_messages(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    message = await post_message(alice, conversation["id"])
    conversation = await get_conversation(alice, conversation["id"])
    before = await last_event_id(app)

    response = await alice.delete(f"/v1/conversations/{conversation['id']}")

    assert response.status_code == 204
    assert (await alice.get(f"/v1/conversations/{conversation['id']}")).status_code == 404
    assert (await alice.get(f"/v1/conversations/{conversation['id']}/messages")).status_code == 404
    assert (await alice.delete(f"/v1/conversations/{conversation['id']}")).status_code == 404
    [event] = await stored_events(app, after=before)
    assert (event.type, event.data) == ("conversation.deleted", conversation)
    async with unit_of_work(app) as uow:
        assert await uow.messages.get(UUID(conversation["id"]), UUID(message["id"])) is None


async def test_deleting_the_workspace_removes_its_conversations_and_messages(
    app: FastAPI, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    message = await post_message(alice, conversation["id"])

    assert (await alice.delete(f"/v1/workspaces/{workspace['id']}")).status_code == 204

    assert (await alice.get(f"/v1/conversations/{conversation['id']}")).status_code == 404
    async with unit_of_work(app) as uow:
        assert await uow.conversations.get(UUID(conversation["id"])) is None
        assert await uow.messages.get(UUID(conversation["id"]), UUID(message["id"])) is None


async def test_every_conversation_and_message_change_moves_the_workspace_forward(alice: Account) -> None:
    workspace = await create_workspace(alice)
    seen = [workspace["last_active_at"]]

    async def activity_moved() -> None:
        current = (await alice.get(f"/v1/workspaces/{workspace['id']}")).json()["last_active_at"]
        assert datetime.fromisoformat(current) > datetime.fromisoformat(seen[-1])
        seen.append(current)

    conversation = await create_conversation(alice, workspace["id"])
    await activity_moved()
    path = f"/v1/conversations/{conversation['id']}"
    assert (await alice.patch(path, json={"title": "Renamed"})).status_code == 200
    await activity_moved()
    message = await post_message(alice, conversation["id"])
    await activity_moved()
    assert (await alice.patch(f"{path}/messages/{message['id']}", json={"content": "Edited"})).is_success
    await activity_moved()
    assert (await alice.delete(f"{path}/messages/{message['id']}")).status_code == 204
    await activity_moved()
    assert (await alice.delete(path)).status_code == 204
    await activity_moved()
