"""Workspaces (API.md §3): create, list, get, update and delete, role by role, with their events."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.event_log import last_event_id, stored_events, unit_of_work
from tests.support.teams import Team, add_member, create_workspace, make_team

Operation = Callable[[Account, str, Team], Awaitable[httpx.Response]]


async def _get(caller: Account, workspace: str, team: Team) -> httpx.Response:
    return await caller.get(workspace)


async def _update(caller: Account, workspace: str, team: Team) -> httpx.Response:
    return await caller.patch(workspace, json={"name": "Renamed"})


async def _delete(caller: Account, workspace: str, team: Team) -> httpx.Response:
    return await caller.delete(workspace)


async def _list_members(caller: Account, workspace: str, team: Team) -> httpx.Response:
    return await caller.get(f"{workspace}/members")


async def _add_member(caller: Account, workspace: str, team: Team) -> httpx.Response:
    return await caller.post(f"{workspace}/members", json={"email": team.newcomer.email, "role": "viewer"})


async def _change_role(caller: Account, workspace: str, team: Team) -> httpx.Response:
    return await caller.patch(f"{workspace}/members/{team.target.id}", json={"role": "editor"})


async def _remove_member(caller: Account, workspace: str, team: Team) -> httpx.Response:
    return await caller.delete(f"{workspace}/members/{team.target.id}")


OPERATIONS: dict[str, Operation] = {
    "get": _get,
    "update": _update,
    "delete": _delete,
    "list_members": _list_members,
    "add_member": _add_member,
    "change_role": _change_role,
    "remove_member": _remove_member,
}

ROLES = ("owner", "editor", "viewer", "stranger")
REMOVED_ALL = ("workspace.deleted", *["member.removed"] * 4)
# Per operation: the status each role gets, in the order of ROLES, and the events a success writes.
EXPECTED: dict[str, tuple[tuple[int, int, int, int], tuple[str, ...]]] = {
    "get": ((200, 200, 200, 404), ()),
    "update": ((200, 403, 403, 404), ("workspace.updated",)),
    "delete": ((204, 403, 403, 404), REMOVED_ALL),
    "list_members": ((200, 200, 200, 404), ()),
    "add_member": ((201, 403, 403, 404), ("member.added",)),
    "change_role": ((200, 403, 403, 404), ("member.updated",)),
    "remove_member": ((204, 403, 403, 404), ("member.removed",)),
}
CASES = [
    pytest.param(name, role, statuses[index], events, id=f"{name}-{role}")
    for name, (statuses, events) in EXPECTED.items()
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("operation", "role", "status", "events"), CASES)
async def test_each_role_may_do_exactly_what_the_contract_says(
    app: FastAPI, client: httpx.AsyncClient, operation: str, role: str, status: int, events: tuple[str, ...]
) -> None:
    team = await make_team(client, app)
    before = await last_event_id(app)

    response = await OPERATIONS[operation](team.caller(role), team.path, team)

    assert response.status_code == status, response.text
    written = [event.type for event in await stored_events(app, after=before)]
    assert written == (list(events) if status < 300 else [])
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == {403: "forbidden", 404: "not_found"}[status]


def _without_request_id(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body.pop("request_id")
    return body


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_a_stranger_cannot_tell_a_workspace_from_one_that_does_not_exist(
    app: FastAPI, client: httpx.AsyncClient, operation: str
) -> None:
    team = await make_team(client, app)

    hidden = await OPERATIONS[operation](team.stranger, team.path, team)
    missing = await OPERATIONS[operation](team.stranger, f"/v1/workspaces/{uuid4()}", team)

    assert hidden.status_code == missing.status_code == 404
    assert _without_request_id(hidden) == _without_request_id(missing)
    assert hidden.headers["content-type"] == missing.headers["content-type"]


async def test_role_in_a_workspace_is_the_callers_own(app: FastAPI, client: httpx.AsyncClient) -> None:
    team = await make_team(client, app)

    for role in ("owner", "editor", "viewer"):
        workspace = (await team.caller(role).get(team.path)).json()
        listed = (await team.caller(role).get("/v1/workspaces")).json()["items"]
        assert workspace["role"] == role
        assert workspace["owner_id"] == team.owner.id
        assert [(item["id"], item["role"]) for item in listed] == [(team.workspace_id, role)]


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


async def test_creating_a_workspace_makes_the_caller_its_owner(app: FastAPI, alice: Account) -> None:
    before = await last_event_id(app)

    response = await alice.post("/v1/workspaces", json={"name": "  Research  "})

    assert response.status_code == 201, response.text
    workspace = response.json()
    assert set(workspace) == {
        *("id", "name", "description", "metadata", "owner_id", "role"),
        *("created_at", "updated_at", "last_active_at"),
    }
    assert UUID(workspace["id"]).version == 4
    assert workspace["id"] == workspace["id"].lower()
    assert (workspace["name"], workspace["description"], workspace["metadata"]) == ("Research", "", {})
    assert (workspace["owner_id"], workspace["role"]) == (alice.id, "owner")
    assert _parse_time(workspace["created_at"]) == _parse_time(workspace["updated_at"])
    assert _parse_time(workspace["last_active_at"]) == _parse_time(workspace["created_at"])
    assert (await alice.get(f"/v1/workspaces/{workspace['id']}")).json() == workspace
    [event] = await stored_events(app, after=before)
    assert (event.type, event.subject_user_id, event.data["role"]) == (
        "member.added",
        UUID(alice.id),
        "owner",
    )


async def test_create_keeps_description_and_metadata(alice: Account) -> None:
    metadata = {"color": "teal", "tags": ["a", "b"], "nested": {"depth": 2}, "n": 1.5, "ok": True, "x": None}

    response = await alice.post(
        "/v1/workspaces", json={"name": "R", "description": "Notes  ", "metadata": metadata}
    )

    assert response.status_code == 201, response.text
    assert response.json()["description"] == "Notes  "
    assert response.json()["metadata"] == metadata


async def test_the_list_holds_only_the_callers_workspaces_newest_first(alice: Account, bob: Account) -> None:
    first = await create_workspace(alice, "First")
    await create_workspace(bob, "Bob's own")
    shared = await create_workspace(bob, "Shared")
    await add_member(bob, shared["id"], alice, "editor")
    last = await create_workspace(alice, "Last")

    listed = (await alice.get("/v1/workspaces")).json()

    assert [(item["name"], item["role"]) for item in listed["items"]] == [
        ("Last", "owner"),
        ("Shared", "editor"),
        ("First", "owner"),
    ]
    assert listed["items"][0] == last
    assert listed["items"][2] == first
    assert listed["next_cursor"] is None


async def test_the_owner_updates_a_workspace_and_its_event_carries_it(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice, "Before", description="old", metadata={"a": 1})
    before = await last_event_id(app)

    response = await alice.patch(
        f"/v1/workspaces/{workspace['id']}", json={"name": "  After ", "metadata": {"b": [2]}}
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["description"], updated["metadata"]) == ("After", "old", {"b": [2]})
    assert updated["role"] == "owner"
    assert _parse_time(updated["updated_at"]) > _parse_time(workspace["updated_at"])
    assert updated["created_at"] == workspace["created_at"]
    assert updated["last_active_at"] == workspace["last_active_at"]
    [event] = await stored_events(app, after=before)
    assert (event.type, event.workspace_id, event.actor_id) == (
        "workspace.updated",
        UUID(workspace["id"]),
        UUID(alice.id),
    )
    assert event.data == {key: value for key, value in updated.items() if key != "role"}


@pytest.mark.parametrize(
    "body", [{}, {"name": None, "description": None, "metadata": None}], ids=["empty", "all null"]
)
async def test_an_update_without_changes_changes_nothing_and_writes_no_event(
    app: FastAPI, alice: Account, body: dict[str, None]
) -> None:
    workspace = await create_workspace(alice, description="kept", metadata={"kept": True})
    before = await last_event_id(app)

    response = await alice.patch(f"/v1/workspaces/{workspace['id']}", json=body)

    assert response.status_code == 200, response.text
    assert response.json() == workspace
    assert await stored_events(app, after=before) == []


async def test_an_update_replaces_metadata_whole_nulls_included(alice: Account) -> None:
    workspace = await create_workspace(alice, metadata={"old": 1})

    response = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"metadata": {"gone": None}})

    assert response.json()["metadata"] == {"gone": None}


async def test_deleting_a_workspace_removes_it_and_its_memberships(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    team = await make_team(client, app)
    before = await last_event_id(app)

    assert (await team.owner.delete(team.path)).status_code == 204

    for role in ("owner", "editor", "viewer"):
        assert (await team.caller(role).get(team.path)).status_code == 404
        assert (await team.caller(role).get("/v1/workspaces")).json()["items"] == []
    async with unit_of_work(app) as uow:
        members = await uow.members.list_for_workspace(UUID(team.workspace_id), limit=200, cursor=None)
        assert members.items == []
        assert await uow.workspaces.get(UUID(team.workspace_id)) is None
    events = await stored_events(app, after=before)
    assert events[0].type == "workspace.deleted"
    assert events[0].data["id"] == team.workspace_id
    removed = {str(event.subject_user_id) for event in events[1:] if event.type == "member.removed"}
    assert removed == {team.owner.id, team.editor.id, team.viewer.id, team.target.id}
    assert (await team.owner.delete(team.path)).status_code == 404


async def test_deleting_a_workspace_deletes_its_conversations_and_messages(
    app: FastAPI, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await alice.post(f"/v1/workspaces/{workspace['id']}/conversations", json={"title": "Chat"})
    assert conversation.status_code == 201, conversation.text
    conversation_path = f"/v1/conversations/{conversation.json()['id']}"
    message = await alice.post(f"{conversation_path}/messages", json={"content": "hello"})
    assert message.status_code == 201, message.text

    assert (await alice.delete(f"/v1/workspaces/{workspace['id']}")).status_code == 204

    assert (await alice.get(conversation_path)).status_code == 404
    async with unit_of_work(app) as uow:
        assert await uow.conversations.get(UUID(conversation.json()["id"])) is None
        assert await uow.messages.get(UUID(conversation.json()["id"]), UUID(message.json()["id"])) is None


async def test_last_active_at_only_moves_forward(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    workspace_id = UUID(workspace["id"])
    created = _parse_time(workspace["last_active_at"])

    async with unit_of_work(app) as uow:
        await uow.workspaces.touch({workspace_id}, now=created + timedelta(hours=1))
        await uow.workspaces.touch({workspace_id}, now=created - timedelta(days=1))
        await uow.commit()

    seen = (await alice.get(f"/v1/workspaces/{workspace['id']}")).json()
    assert _parse_time(seen["last_active_at"]) == created + timedelta(hours=1)
    renamed = (await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "Later"})).json()
    assert renamed["last_active_at"] == seen["last_active_at"]


async def test_activity_in_a_conversation_moves_last_active_at_forward(alice: Account) -> None:
    workspace = await create_workspace(alice)

    created = await alice.post(f"/v1/workspaces/{workspace['id']}/conversations", json={})
    seen = (await alice.get(f"/v1/workspaces/{workspace['id']}")).json()

    assert created.status_code == 201, created.text
    assert _parse_time(seen["last_active_at"]) > _parse_time(workspace["last_active_at"])
    assert seen["updated_at"] == workspace["updated_at"]


def _nested(depth: int) -> dict[str, Any]:
    """A JSON object ``depth`` levels deep, counting itself."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"d": value}
    return value


BIG = 16 * 1024

INVALID_BODIES: dict[str, object] = {
    "missing name": {},
    "empty name": {"name": ""},
    "whitespace-only name": {"name": " \t\n "},
    "101-character name": {"name": "n" * 101},
    "name not a string": {"name": 5},
    "name is null": {"name": None},
    "NUL in name": {"name": "a\x00b"},
    "NUL in description": {"name": "a", "description": "x\x00"},
    "description too long": {"name": "a", "description": "d" * 2001},
    "metadata a list": {"name": "a", "metadata": [1, 2]},
    "metadata a string": {"name": "a", "metadata": "{}"},
    "metadata null": {"name": "a", "metadata": None},
    "metadata over 16 KiB": {"name": "a", "metadata": {"k": "v" * BIG}},
    "metadata 11 objects deep": {"name": "a", "metadata": _nested(11)},
    "metadata 11 deep through lists": {"name": "a", "metadata": {"l": json.loads("[" * 10 + "]" * 10)}},
    "NUL in a metadata value": {"name": "a", "metadata": {"k": ["\x00"]}},
    "NUL in a metadata key": {"name": "a", "metadata": {"k\x00": 1}},
    "unknown field": {"name": "a", "owner_id": str(uuid4())},
    "a list body": [{"name": "a"}],
}


@pytest.mark.parametrize("body", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
async def test_a_bad_create_body_is_a_validation_error(alice: Account, body: object) -> None:
    response = await alice.post("/v1/workspaces", json=body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"]
    assert (await alice.get("/v1/workspaces")).json()["items"] == []


# A PATCH leaves out what it does not change, and null means "unchanged" too.
INVALID_UPDATES = {
    name: body
    for name, body in INVALID_BODIES.items()
    if name not in {"missing name", "name is null", "metadata null", "a list body"}
}


@pytest.mark.parametrize("body", INVALID_UPDATES.values(), ids=INVALID_UPDATES.keys())
async def test_a_bad_update_body_is_a_validation_error_and_changes_nothing(
    app: FastAPI, alice: Account, body: dict[str, object]
) -> None:
    workspace = await create_workspace(alice)
    before = await last_event_id(app)

    response = await alice.patch(f"/v1/workspaces/{workspace['id']}", json=body)

    assert response.status_code == 422, response.text
    assert (await alice.get(f"/v1/workspaces/{workspace['id']}")).json() == workspace
    assert await stored_events(app, after=before) == []


@pytest.mark.parametrize(
    "content",
    [
        "{",
        '{"name": "a",}',
        "",
        "null",
        '"name"',
        '{"name": "a"} trailing',
        b"\xff\xfe{}",
        '{"name": "a"}'.encode("utf-16"),
        '{"name": "a"}'.encode("utf-16-be"),
        '{"name": "a"}'.encode("utf-32"),
    ],
    ids=[
        "unclosed",
        "trailing comma",
        "empty",
        "null",
        "a string",
        "trailing text",
        "not utf-8",
        "utf-16",
        "utf-16 without a byte-order mark",
        "utf-32",
    ],
)
async def test_bad_json_is_a_validation_error(alice: Account, content: str | bytes) -> None:
    response = await alice.post(
        "/v1/workspaces", content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "content",
    [
        '{"name": "\\udc00"}',
        '{"name": "a", "description": "x\\ud800"}',
        '{"name": "a", "metadata": {"k": "\\udc00"}}',
        '{"name": "a", "metadata": {"\\ud800": 1}}',
        '{"name": "a", "metadata": {"k": NaN}}',
        '{"name": "a", "metadata": {"k": [Infinity]}}',
        '{"name": "a", "metadata": {"k": -Infinity}}',
    ],
    ids=["surrogate name", "surrogate description", "surrogate value", "surrogate key", "nan", "inf", "-inf"],
)
async def test_strings_and_numbers_json_cannot_store_are_a_validation_error(
    alice: Account, content: str
) -> None:
    response = await alice.post(
        "/v1/workspaces", content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert (await alice.get("/v1/workspaces")).json()["items"] == []


def _metadata_of_size(size: int) -> dict[str, str]:
    """An object that is exactly ``size`` bytes as compact JSON."""
    padding = size - len(json.dumps({"k": ""}, separators=(",", ":")))
    return {"k": "v" * padding}


async def test_the_limits_themselves_are_accepted(alice: Account) -> None:
    body = {"name": f"  {'n' * 100}  ", "description": "d" * 2000, "metadata": _metadata_of_size(BIG)}

    response = await alice.post("/v1/workspaces", json=body)
    deep = await alice.post("/v1/workspaces", json={"name": "deep", "metadata": _nested(10)})

    assert response.status_code == 201, response.text
    assert response.json()["name"] == "n" * 100
    assert response.json()["metadata"] == body["metadata"]
    assert deep.status_code == 201, deep.text
    assert deep.json()["metadata"] == _nested(10)


async def test_metadata_one_byte_over_the_limit_is_refused(alice: Account) -> None:
    response = await alice.post("/v1/workspaces", json={"name": "a", "metadata": _metadata_of_size(BIG + 1)})

    assert response.status_code == 422, response.text


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "workspace_id", ["not-a-uuid", "1234", pytest.param(str(uuid4())[:-1], id="one-short-of-a-uuid"), "%00"]
)
async def test_a_malformed_workspace_id_is_a_validation_error(
    alice: Account, method: str, workspace_id: str
) -> None:
    response = await alice.request(method, f"/v1/workspaces/{workspace_id}", json={"name": "x"})

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/workspaces"),
        ("POST", "/v1/workspaces"),
        ("GET", "/v1/workspaces/{id}"),
        ("PATCH", "/v1/workspaces/{id}"),
        ("DELETE", "/v1/workspaces/{id}"),
    ],
)
async def test_workspaces_need_credentials(
    alice: Account, client: httpx.AsyncClient, method: str, path: str
) -> None:
    workspace = await create_workspace(alice)

    response = await client.request(method, path.format(id=workspace["id"]), json={"name": "x"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
