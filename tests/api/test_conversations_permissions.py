"""Who may do what to conversations and messages: every role against every endpoint (API.md §4, §5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import last_event_id, stored_events
from tests.support.teams import Team, add_member, make_team

ROLES = ("owner", "editor", "viewer", "stranger")


@dataclass(frozen=True)
class Target:
    """What an operation acts on: a fresh conversation, with one message by the owner, one by the editor."""

    team: Team
    conversation_id: str
    message_ids: dict[str, str]
    """The id of the message posted by each author: ``owner`` and ``editor``."""

    @property
    def path(self) -> str:
        return f"/v1/conversations/{self.conversation_id}"


async def _target(team: Team) -> Target:
    conversation = await create_conversation(team.owner, team.workspace_id)
    return Target(
        team=team,
        conversation_id=conversation["id"],
        message_ids={
            author: (await post_message(team.caller(author), conversation["id"]))["id"]
            for author in ("owner", "editor")
        },
    )


Operation = Callable[[Account, Target], Awaitable[httpx.Response]]


def _on_message(method: str, author: str, **request: Any) -> Operation:
    """``method`` on the message that ``author`` posted."""
    return lambda caller, t: caller.request(method, f"{t.path}/messages/{t.message_ids[author]}", **request)


# Per operation: the status for each of ROLES, and the event a success writes.
OPERATIONS: dict[str, tuple[Operation, tuple[int, int, int, int], str | None]] = {
    "create conversation": (
        lambda caller, t: caller.post(f"/v1/workspaces/{t.team.workspace_id}/conversations", json={}),
        (201, 201, 403, 404),
        "conversation.created",
    ),
    "list conversations": (
        lambda caller, t: caller.get(f"/v1/workspaces/{t.team.workspace_id}/conversations"),
        (200, 200, 200, 404),
        None,
    ),
    "get conversation": (lambda caller, t: caller.get(t.path), (200, 200, 200, 404), None),
    "get conversation with messages": (
        lambda caller, t: caller.get(t.path, params={"include": "messages"}),
        (200, 200, 200, 404),
        None,
    ),
    "update conversation": (
        lambda caller, t: caller.patch(t.path, json={"title": "Renamed"}),
        (200, 200, 403, 404),
        "conversation.updated",
    ),
    "delete conversation": (
        lambda caller, t: caller.delete(t.path),
        (204, 204, 403, 404),
        "conversation.deleted",
    ),
    "post message": (
        lambda caller, t: caller.post(f"{t.path}/messages", json={"content": "Hi"}),
        (201, 201, 403, 404),
        "message.created",
    ),
    "list messages": (lambda caller, t: caller.get(f"{t.path}/messages"), (200, 200, 200, 404), None),
    "get message": (_on_message("GET", "owner"), (200, 200, 200, 404), None),
    "edit the owner's message": (
        _on_message("PATCH", "owner", json={"content": "x"}),
        (200, 403, 403, 404),
        "message.updated",
    ),
    "delete the owner's message": (_on_message("DELETE", "owner"), (204, 403, 403, 404), "message.deleted"),
    "edit the editor's message": (
        _on_message("PATCH", "editor", json={"content": "x"}),
        (200, 200, 403, 404),
        "message.updated",
    ),
    "delete the editor's message": (_on_message("DELETE", "editor"), (204, 204, 403, 404), "message.deleted"),
}


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_may_do_exactly_what_the_contract_says(
    app: FastAPI, client: httpx.AsyncClient, role: str
) -> None:
    team = await make_team(client, app)

    for name, (operation, statuses, event) in OPERATIONS.items():
        target = await _target(team)
        before = await last_event_id(app)

        response = await operation(team.caller(role), target)

        expected = statuses[ROLES.index(role)]
        assert response.status_code == expected, f"{name}: {response.text}"
        written = [stored.type for stored in await stored_events(app, after=before)]
        assert written == ([event] if event and expected < 300 else []), name
        if expected >= 400:
            assert response.json()["code"] == {403: "forbidden", 404: "not_found"}[expected], name


async def test_a_stranger_cannot_tell_a_conversation_from_one_that_does_not_exist(
    app: FastAPI,
    client: httpx.AsyncClient,
) -> None:
    team = await make_team(client, app)
    target = await _target(team)
    missing = Target(
        team=replace(team, workspace_id=str(uuid4())),
        conversation_id=str(uuid4()),
        message_ids={"owner": str(uuid4()), "editor": str(uuid4())},
    )

    for name, (operation, _, _) in OPERATIONS.items():
        hidden, absent = await operation(team.stranger, target), await operation(team.stranger, missing)
        assert hidden.status_code == absent.status_code == 404, name
        assert {**hidden.json(), "request_id": None} == {**absent.json(), "request_id": None}, name


async def test_an_author_who_became_a_viewer_can_no_longer_change_their_message(
    app: FastAPI,
    client: httpx.AsyncClient,
) -> None:
    team = await make_team(client, app)
    target = await _target(team)
    message_path = f"{target.path}/messages/{target.message_ids['editor']}"

    await add_member(team.owner, team.workspace_id, team.newcomer, "editor")
    demoted = await team.owner.patch(
        f"/v1/workspaces/{team.workspace_id}/members/{team.editor.id}", json={"role": "viewer"}
    )
    assert demoted.status_code == 200, demoted.text

    assert (await team.editor.patch(message_path, json={"content": "x"})).status_code == 403
    assert (await team.editor.delete(message_path)).status_code == 403
    assert (await team.newcomer.delete(message_path)).status_code == 403
