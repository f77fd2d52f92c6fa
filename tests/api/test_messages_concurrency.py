"""Many clients posting at once: every post answers 201 and ``seq`` is 1..n with no gap or repeat."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.event_log import stored_events
from tests.support.teams import create_workspace

POSTS = 200


async def _post_concurrently(account: Account, conversation_ids: list[str]) -> dict[str, list[int]]:
    """``POSTS`` posts dealt round-robin over the conversations, all in flight at once; seqs answered."""
    responses = await asyncio.gather(
        *[
            account.post(
                f"/v1/conversations/{conversation_ids[n % len(conversation_ids)]}/messages",
                json={"content": f"message {n}"},
            )
            for n in range(POSTS)
        ]
    )
    assert [response.status_code for response in responses] == [201] * POSTS
    answered: dict[str, list[int]] = defaultdict(list)
    for response in responses:
        answered[response.json()["conversation_id"]].append(response.json()["seq"])
    return answered


async def _stored_seqs(account: Account, conversation_id: str) -> list[int]:
    page = await account.get(f"/v1/conversations/{conversation_id}/messages", params={"limit": 200})
    return [message["seq"] for message in page.json()["items"]]


async def _event_seqs(app: FastAPI, conversation_id: str) -> list[int]:
    """The ``seq`` of each ``message.created`` event of the conversation, in event id order."""
    return [
        event.data["seq"]
        for event in await stored_events(app)
        if event.type == "message.created" and event.conversation_id == UUID(conversation_id)
    ]


async def test_concurrent_posts_into_one_conversation(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])

    answered = await _post_concurrently(alice, [conversation["id"]])

    expected = list(range(1, POSTS + 1))
    assert sorted(answered[conversation["id"]]) == expected
    assert await _stored_seqs(alice, conversation["id"]) == expected
    assert await _event_seqs(app, conversation["id"]) == expected
    counted = await alice.get(f"/v1/conversations/{conversation['id']}")
    assert counted.json()["message_count"] == POSTS


async def test_concurrent_posts_into_two_interleaved_conversations(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversations = [(await create_conversation(alice, workspace["id"]))["id"] for _ in range(2)]

    answered = await _post_concurrently(alice, conversations)

    expected = list(range(1, POSTS // 2 + 1))
    for conversation_id in conversations:
        assert sorted(answered[conversation_id]) == expected
        assert await _stored_seqs(alice, conversation_id) == expected
        assert await _event_seqs(app, conversation_id) == expected


EDITS = 20


async def test_concurrent_edits_take_their_times_in_commit_order(app: FastAPI, alice: Account) -> None:
    """``updated_at`` follows the order edits commit in: the edit stored last has the latest time, and the
    update events (whose ids follow commit order) carry rising times, for messages and conversations."""
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    conversation_path = f"/v1/conversations/{conversation['id']}"
    message = await alice.post(f"{conversation_path}/messages", json={"content": "first"})
    paths = {
        "message": f"{conversation_path}/messages/{message.json()['id']}",
        "conversation": conversation_path,
    }
    edits = {"message": "content", "conversation": "title"}

    answers = await asyncio.gather(
        *[
            alice.patch(paths[kind], json={field: f"edit {n}"})
            for kind, field in edits.items()
            for n in range(EDITS)
        ]
    )

    assert [answer.status_code for answer in answers] == [200] * (2 * EDITS)
    events = await stored_events(app)
    for kind, field in edits.items():
        answered = {
            answer.json()[field]: _time(answer.json()) for answer in answers if answer.url.path == paths[kind]
        }
        stored = (await alice.get(paths[kind])).json()
        assert answered[stored[field]] == _time(stored) == max(answered.values()), kind
        times = [_time(event.data) for event in events if event.type == f"{kind}.updated"]
        assert len(times) == EDITS, kind
        assert times == sorted(times), kind


def _time(resource: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(resource["updated_at"])
