"""``Idempotency-Key`` on posting a message (API.md §5): at most once per caller and key."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.event_log import last_event_id, stored_events
from tests.support.invalid import assert_validation_problem
from tests.support.teams import add_member, create_workspace


async def _conversation(account: Account) -> dict[str, Any]:
    workspace = await create_workspace(account)
    return await create_conversation(account, workspace["id"])


async def _post(account: Account, conversation_id: str, key: str, **body: object) -> httpx.Response:
    return await account.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": "Hi", **body},
        headers={"Idempotency-Key": key},
    )


async def _created_events(app: FastAPI, after: int) -> list[dict[str, Any]]:
    return [event.data for event in await stored_events(app, after=after) if event.type == "message.created"]


async def test_a_repeat_answers_the_same_message_once(app: FastAPI, alice: Account) -> None:
    conversation = await _conversation(alice)
    before = await last_event_id(app)

    first = await _post(alice, conversation["id"], "key-1", metadata={"b": 2, "a": 1})
    repeat = await _post(alice, conversation["id"], "key-1", metadata={"a": 1, "b": 2})

    assert first.status_code == repeat.status_code == 201, repeat.text
    assert repeat.json() == first.json()
    assert await _created_events(app, before) == [first.json()]
    listed = (await alice.get(f"/v1/conversations/{conversation['id']}/messages")).json()
    assert listed["items"] == [first.json()]


async def test_a_repeat_with_a_different_body_is_a_conflict(app: FastAPI, alice: Account) -> None:
    conversation, other = await _conversation(alice), await _conversation(alice)
    first = await _post(alice, conversation["id"], "key-1")
    before = await last_event_id(app)

    changed = {
        "content": await _post(alice, conversation["id"], "key-1", content="Bye"),
        "role": await _post(alice, conversation["id"], "key-1", role="assistant"),
        "metadata": await _post(alice, conversation["id"], "key-1", metadata={"a": 1}),
        "conversation": await _post(alice, other["id"], "key-1"),
    }

    assert first.status_code == 201
    for case, response in changed.items():
        assert response.status_code == 409, (case, response.text)
        assert response.json()["code"] == "conflict", case
    assert await stored_events(app, after=before) == []


async def test_keys_belong_to_their_caller(alice: Account, bob: Account) -> None:
    conversation = await _conversation(alice)
    await add_member(alice, conversation["workspace_id"], bob, "editor")

    mine = await _post(alice, conversation["id"], "shared-key")
    theirs = await _post(bob, conversation["id"], "shared-key")
    fresh = await _post(alice, conversation["id"], "another-key")

    assert mine.status_code == theirs.status_code == fresh.status_code == 201
    assert [mine.json()["seq"], theirs.json()["seq"], fresh.json()["seq"]] == [1, 2, 3]


async def test_concurrent_repeats_post_once(app: FastAPI, alice: Account) -> None:
    conversation = await _conversation(alice)
    before = await last_event_id(app)

    responses = await asyncio.gather(*[_post(alice, conversation["id"], "racing-key") for _ in range(20)])

    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert await _created_events(app, before) == [responses[0].json()]


async def test_key_length_is_checked(alice: Account) -> None:
    conversation = await _conversation(alice)

    assert_validation_problem(await _post(alice, conversation["id"], ""), "empty key")
    assert_validation_problem(await _post(alice, conversation["id"], "k" * 256), "256-character key")
    assert (await _post(alice, conversation["id"], "k" * 255)).status_code == 201


async def test_a_repeat_still_needs_access_to_the_conversation(alice: Account, bob: Account) -> None:
    conversation = await _conversation(alice)
    await add_member(alice, conversation["workspace_id"], bob, "editor")
    assert (await _post(bob, conversation["id"], "key-1")).status_code == 201

    demoted = await alice.patch(
        f"/v1/workspaces/{conversation['workspace_id']}/members/{bob.id}", json={"role": "viewer"}
    )
    assert demoted.status_code == 200

    assert (await _post(bob, conversation["id"], "key-1")).status_code == 403
