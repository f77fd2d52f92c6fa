"""A walk through a workspace's conversations never skips (API.md §4, docs/api-decisions.md): every
conversation that exists throughout the walk is listed once, in its order of activity as of the first page,
however many become active, are created or deleted between the pages."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import last_event_id
from tests.support.teams import create_workspace
from threadline.database.models import CONVERSATIONS_TABLE, EVENTS_TABLE
from threadline.models.domain.pagination import Cursor


def _path(workspace: dict[str, Any]) -> str:
    return f"/v1/workspaces/{workspace['id']}/conversations"


async def _page(
    account: Account, workspace: dict[str, Any], cursor: str | None, limit: int
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    response = await account.get(_path(workspace), params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _listed(account: Account, workspace: dict[str, Any]) -> list[str]:
    """The whole list in one page: the order a walk begun now follows."""
    return [item["id"] for item in (await _page(account, workspace, None, 200))["items"]]


async def _conversations(account: Account, workspace: dict[str, Any], count: int) -> list[dict[str, Any]]:
    return [await create_conversation(account, workspace["id"], title=f"#{n}") for n in range(count)]


async def test_a_walk_lists_each_conversation_once_whatever_becomes_active_between_pages(
    alice: Account,
) -> None:
    workspace = await create_workspace(alice)
    conversations = await _conversations(alice, workspace, 12)
    edited_message = await post_message(alice, conversations[1]["id"], "to edit")
    expected = await _listed(alice, workspace)
    unseen_later = expected[3:]

    first = await _page(alice, workspace, None, 3)
    walked = [item["id"] for item in first["items"]]
    # Between the first and second pages: activity in conversations not seen yet and in one seen, a new
    # conversation, and a deletion.
    await post_message(alice, unseen_later[0], "moves to the head")
    patched = await alice.patch(f"/v1/conversations/{unseen_later[2]}", json={"title": "renamed"})
    assert patched.status_code == 200, patched.text
    await post_message(alice, walked[0], "already seen")
    created = await create_conversation(alice, workspace["id"], title="new")
    deleted = unseen_later[4]
    assert (await alice.delete(f"/v1/conversations/{deleted}")).status_code == 204

    second = await _page(alice, workspace, first["next_cursor"], 3)
    walked += [item["id"] for item in second["items"]]
    # Between the second and third: a message edited and one deleted in an unseen conversation, more posts.
    message_path = f"/v1/conversations/{edited_message['conversation_id']}/messages/{edited_message['id']}"
    assert (await alice.patch(message_path, json={"content": "edited"})).status_code == 200
    await post_message(alice, unseen_later[0], "moves again")
    latest = walked[-1]
    await post_message(alice, latest, "seen on the last page")

    cursor = second["next_cursor"]
    while cursor:
        page = await _page(alice, workspace, cursor, 3)
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]

    assert walked == [id_ for id_ in expected if id_ != deleted]
    assert created["id"] not in walked
    # The next walk starts from the present: the latest activity first, and the new conversation in it.
    now_listed = await _listed(alice, workspace)
    assert now_listed[:2] == [latest, unseen_later[0]]
    assert created["id"] in now_listed


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_walk_through_random_activity_misses_and_repeats_nothing(alice: Account, seed: int) -> None:
    chance = random.Random(seed)
    workspace = await create_workspace(alice)
    await _conversations(alice, workspace, 15)
    expected = await _listed(alice, workspace)
    deleted: set[str] = set()
    walked: list[str] = []
    cursor: str | None = None
    while True:
        page = await _page(alice, workspace, cursor, chance.randint(1, 4))
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        for _ in range(chance.randint(1, 4)):
            alive = [id_ for id_ in expected if id_ not in deleted]
            action = chance.choice(["post", "post", "rename", "create", "delete"])
            target = chance.choice(alive)
            if action == "post":
                await post_message(alice, target, "activity")
            elif action == "rename":
                renamed = await alice.patch(f"/v1/conversations/{target}", json={"title": "renamed"})
                assert renamed.status_code == 200, renamed.text
            elif action == "create":
                await create_conversation(alice, workspace["id"])
            else:  # perhaps one already listed, or the one the cursor names
                assert (await alice.delete(f"/v1/conversations/{target}")).status_code == 204
                deleted.add(target)

    assert len(set(walked)) == len(walked), "nothing is listed twice"
    assert set(expected) - deleted <= set(walked), "nothing that stayed is missed"
    # Nothing new, and in the order of the first page's moment.
    assert walked == [id_ for id_ in expected if id_ in set(walked)]


async def _idle(app: FastAPI, conversation_id: str, *, for_: timedelta) -> None:
    """Make a conversation look idle for ``for_``: its times and its events' moved back."""
    id_ = UUID(conversation_id)
    then = datetime.now(UTC) - for_
    async with app.state.resources.database.session() as session:
        await session.execute(
            update(CONVERSATIONS_TABLE)
            .where(CONVERSATIONS_TABLE.c.id == id_)
            .values(created_at=then - timedelta(days=30), last_active_at=then, updated_at=then)
        )
        await session.execute(
            update(EVENTS_TABLE).where(EVENTS_TABLE.c.conversation_id == id_).values(created_at=then)
        )
        await session.commit()


async def _prune(app: FastAPI, conversation_id: str, *, through: int) -> None:
    """Delete the conversation's events up to id ``through``, as the retention pruner does old events."""
    async with app.state.resources.database.session() as session:
        await session.execute(
            delete(EVENTS_TABLE).where(
                EVENTS_TABLE.c.conversation_id == UUID(conversation_id), EVENTS_TABLE.c.id <= through
            )
        )
        await session.commit()


async def test_conversations_idle_for_long_that_wake_mid_walk_keep_their_place(
    app: FastAPI, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    long_idle, idle, recent = await _conversations(alice, workspace, 3)
    await _idle(app, long_idle["id"], for_=timedelta(days=30))
    await _prune(app, long_idle["id"], through=await last_event_id(app))  # retention pruned its events
    await _idle(app, idle["id"], for_=timedelta(hours=5))
    expected = await _listed(alice, workspace)
    assert expected == [recent["id"], idle["id"], long_idle["id"]]

    first = await _page(alice, workspace, None, 1)
    snapshot = await last_event_id(app)
    await post_message(alice, long_idle["id"], "awake again")
    await post_message(alice, idle["id"], "awake again")
    second = await _page(alice, workspace, first["next_cursor"], 1)
    # Retention prunes the idle conversation's events before the walk reads on: the change that woke it
    # recorded where it was.
    await _prune(app, idle["id"], through=snapshot)
    await post_message(alice, idle["id"], "and again")
    last = await _page(alice, workspace, second["next_cursor"], 1)

    walked = [item["id"] for page in (first, second, last) for item in page["items"]]
    assert walked == expected
    assert last["next_cursor"] is None


def _forged(cursor: str, **changes: object) -> str:
    fields = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    fields.update(changes)
    for name in [name for name, value in changes.items() if value is None]:
        del fields[name]
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


async def _a_cursor(alice: Account) -> tuple[dict[str, Any], str]:
    workspace = await create_workspace(alice)
    await _conversations(alice, workspace, 2)
    cursor = (await _page(alice, workspace, None, 1))["next_cursor"]
    assert cursor is not None
    return workspace, cursor


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {"taken": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}, id="older than an hour"
        ),
        pytest.param(
            {"taken": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, id="taken in the future"
        ),
        pytest.param({"as_of": None, "taken": None}, id="from before walks kept snapshots"),
        pytest.param({"as_of": 10**12}, id="from another database"),
    ],
)
async def test_a_cursor_whose_walk_cannot_go_on_is_a_422_cursor_expired(
    alice: Account, changes: dict[str, object]
) -> None:
    workspace, cursor = await _a_cursor(alice)

    response = await alice.get(_path(workspace), params={"cursor": _forged(cursor, **changes)})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "cursor_expired"
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"as_of": -1}, id="a negative event id"),
        pytest.param({"as_of": "12"}, id="an event id as text"),
        pytest.param({"taken": "yesterday"}, id="not a time"),
        pytest.param({"taken": "2026-11-26T14:03:05"}, id="a naive time"),
        pytest.param({"of": "workspaces"}, id="of another list"),
    ],
)
async def test_a_forged_cursor_is_a_422_validation_error(alice: Account, changes: dict[str, object]) -> None:
    workspace, cursor = await _a_cursor(alice)

    response = await alice.get(_path(workspace), params={"cursor": _forged(cursor, **changes)})

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_cursor_names_the_walks_snapshot(app: FastAPI, alice: Account) -> None:
    _, cursor = await _a_cursor(alice)

    decoded = Cursor.decode(cursor)

    assert decoded.as_of == await last_event_id(app)
    assert decoded.taken is not None
    assert datetime.now(UTC) - decoded.taken < timedelta(minutes=1)
    assert decoded.of == "conversations"
