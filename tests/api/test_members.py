"""Workspace members (API.md §3): adding by email, changing roles, removing and leaving, with their events."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account, sign_up
from tests.support.event_log import last_event_id, stored_events
from tests.support.teams import Team, make_team
from threadline.errors import ValidationFailed
from threadline.models.domain.user import Actor, Credential
from threadline.models.domain.workspace import Role
from threadline.services.workspaces import WorkspaceService


@pytest.fixture
async def team(app: FastAPI, client: httpx.AsyncClient) -> Team:
    return await make_team(client, app)


def _member_of(account: Account, role: str) -> dict[str, object]:
    return {"user_id": account.id, "email": account.email, "name": account.user["name"], "role": role}


def _without_added_at(member: dict[str, object]) -> dict[str, object]:
    assert member["added_at"]
    return {key: value for key, value in member.items() if key != "added_at"}


async def test_the_owner_adds_a_member_by_email(app: FastAPI, team: Team) -> None:
    before = await last_event_id(app)

    response = await team.owner.post(
        f"{team.path}/members", json={"email": team.newcomer.email.upper(), "role": "editor"}
    )

    assert response.status_code == 201, response.text
    member = response.json()
    assert _without_added_at(member) == _member_of(team.newcomer, "editor")
    assert (await team.newcomer.get(team.path)).json()["role"] == "editor"
    [event] = await stored_events(app, after=before)
    assert event.type == "member.added"
    assert (event.workspace_id, event.actor_id) == (UUID(team.workspace_id), UUID(team.owner.id))
    assert event.subject_user_id == UUID(team.newcomer.id)
    assert event.data == member


async def test_the_members_list_shows_everyone_with_their_role(team: Team) -> None:
    response = await team.viewer.get(f"{team.path}/members")

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    assert [_without_added_at(member) for member in page["items"]] == [
        _member_of(team.target, "viewer"),
        _member_of(team.viewer, "viewer"),
        _member_of(team.editor, "editor"),
        _member_of(team.owner, "owner"),
    ]


@pytest.mark.parametrize(
    ("email", "status"),
    [("nobody@example.com", 404), ("owner", 409), ("editor", 409), ("viewer", 409)],
    ids=["unknown email", "the owner", "an editor", "a viewer"],
)
async def test_adding_an_unknown_email_or_a_member_again_is_refused(
    app: FastAPI, team: Team, email: str, status: int
) -> None:
    if "@" not in email:
        email = team.caller(email).email.upper()
    before = await last_event_id(app)
    members_before = (await team.owner.get(f"{team.path}/members")).json()

    response = await team.owner.post(f"{team.path}/members", json={"email": email, "role": "viewer"})

    assert response.status_code == status, response.text
    assert response.json()["code"] == {404: "not_found", 409: "conflict"}[status]
    assert (await team.owner.get(f"{team.path}/members")).json() == members_before
    assert await stored_events(app, after=before) == []


INVALID_ADDITIONS: dict[str, object] = {
    "role owner": {"email": "x@example.com", "role": "owner"},
    "role admin": {"email": "x@example.com", "role": "admin"},
    "role in capitals": {"email": "x@example.com", "role": "EDITOR"},
    "role empty": {"email": "x@example.com", "role": ""},
    "role missing": {"email": "x@example.com"},
    "email missing": {"role": "viewer"},
    "not an email": {"email": "not-an-email", "role": "viewer"},
    "email too long": {"email": f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.com", "role": "viewer"},
    "NUL in email": {"email": "a\x00b@example.com", "role": "viewer"},
    "unknown field": {"email": "x@example.com", "role": "viewer", "user_id": str(uuid4())},
    "a list body": [{"email": "x@example.com", "role": "viewer"}],
}


@pytest.mark.parametrize("body", INVALID_ADDITIONS.values(), ids=INVALID_ADDITIONS.keys())
async def test_a_bad_member_body_is_a_validation_error(app: FastAPI, team: Team, body: object) -> None:
    before = await last_event_id(app)

    response = await team.owner.post(f"{team.path}/members", json=body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert await stored_events(app, after=before) == []


async def test_the_owner_changes_a_members_role(app: FastAPI, team: Team) -> None:
    before = await last_event_id(app)

    response = await team.owner.patch(f"{team.path}/members/{team.viewer.id}", json={"role": "editor"})

    assert response.status_code == 200, response.text
    member = response.json()
    assert _without_added_at(member) == _member_of(team.viewer, "editor")
    assert (await team.viewer.get(team.path)).json()["role"] == "editor"
    [event] = await stored_events(app, after=before)
    assert (event.type, event.subject_user_id, event.data) == ("member.updated", UUID(team.viewer.id), member)


async def test_setting_the_role_a_member_has_writes_no_event(app: FastAPI, team: Team) -> None:
    before = await last_event_id(app)

    response = await team.owner.patch(f"{team.path}/members/{team.editor.id}", json={"role": "editor"})

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "editor"
    assert await stored_events(app, after=before) == []


async def test_members_as_answered_are_the_members_as_stored(app: FastAPI, team: Team) -> None:
    """Creating a workspace, adding a member and changing a role build the member from what they wrote."""
    before = await last_event_id(app)

    added = await team.owner.post(
        f"{team.path}/members", json={"email": team.newcomer.email, "role": "viewer"}
    )
    changed = await team.owner.patch(f"{team.path}/members/{team.newcomer.id}", json={"role": "editor"})

    members = (await team.owner.get(f"{team.path}/members")).json()["items"]
    stored = {member["user_id"]: member for member in members}
    assert changed.json() == {**added.json(), "role": "editor"} == stored[team.newcomer.id]
    assert [event.data for event in await stored_events(app, after=before)] == [added.json(), changed.json()]
    [owner_added, *_] = await stored_events(app)
    assert owner_added.data == stored[team.owner.id]


@pytest.mark.parametrize(
    ("role", "status"), [("editor", 403), ("viewer", 403), ("owner", 422)], ids=["editor", "viewer", "owner"]
)
async def test_the_owner_cannot_be_demoted(app: FastAPI, team: Team, role: str, status: int) -> None:
    before = await last_event_id(app)

    response = await team.owner.patch(f"{team.path}/members/{team.owner.id}", json={"role": role})

    assert response.status_code == status, response.text
    assert (await team.owner.get(team.path)).json()["role"] == "owner"
    assert await stored_events(app, after=before) == []


async def test_nobody_else_can_be_made_owner(app: FastAPI, team: Team) -> None:
    before = await last_event_id(app)

    response = await team.owner.patch(f"{team.path}/members/{team.editor.id}", json={"role": "owner"})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "role"]
    assert (await team.editor.get(team.path)).json()["role"] == "editor"
    assert await stored_events(app, after=before) == []


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_changing_someone_who_is_not_a_member_is_not_found(
    app: FastAPI, team: Team, method: str
) -> None:
    before = await last_event_id(app)

    for user_id in (team.newcomer.id, team.stranger.id, str(uuid4())):
        response = await team.owner.request(method, f"{team.path}/members/{user_id}", json={"role": "viewer"})
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "Member not found"
    assert await stored_events(app, after=before) == []


async def test_the_owner_removes_a_member(app: FastAPI, team: Team) -> None:
    listed = (await team.owner.get(f"{team.path}/members")).json()["items"]
    [target] = [member for member in listed if member["user_id"] == team.target.id]
    before = await last_event_id(app)

    response = await team.owner.delete(f"{team.path}/members/{team.target.id}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await team.target.get(team.path)).status_code == 404
    assert (await team.target.get("/v1/workspaces")).json()["items"] == []
    remaining = (await team.owner.get(f"{team.path}/members")).json()["items"]
    assert team.target.id not in {member["user_id"] for member in remaining}
    [event] = await stored_events(app, after=before)
    assert (event.type, event.actor_id, event.data) == ("member.removed", UUID(team.owner.id), target)
    assert (await team.owner.delete(f"{team.path}/members/{team.target.id}")).status_code == 404


@pytest.mark.parametrize("role", ["editor", "viewer"])
async def test_any_member_may_leave(app: FastAPI, team: Team, role: str) -> None:
    leaver = team.caller(role)
    before = await last_event_id(app)

    response = await leaver.delete(f"{team.path}/members/{leaver.id}")

    assert response.status_code == 204
    assert (await leaver.get(team.path)).status_code == 404
    [event] = await stored_events(app, after=before)
    assert event.type == "member.removed"
    assert event.actor_id == event.subject_user_id == UUID(leaver.id)


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
async def test_the_owner_cannot_be_removed(app: FastAPI, team: Team, role: str) -> None:
    before = await last_event_id(app)

    response = await team.caller(role).delete(f"{team.path}/members/{team.owner.id}")

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert (await team.owner.get(team.path)).json()["role"] == "owner"
    assert await stored_events(app, after=before) == []


async def test_a_member_who_left_can_be_added_again(client: httpx.AsyncClient, team: Team) -> None:
    await team.viewer.delete(f"{team.path}/members/{team.viewer.id}")

    response = await team.owner.post(
        f"{team.path}/members", json={"email": team.viewer.email, "role": "editor"}
    )

    assert response.status_code == 201, response.text
    assert (await team.viewer.get(team.path)).json()["role"] == "editor"


async def test_membership_is_per_workspace(client: httpx.AsyncClient, team: Team) -> None:
    other_owner = await sign_up(client)
    other = (await other_owner.post("/v1/workspaces", json={"name": "Other"})).json()

    response = await team.owner.patch(
        f"/v1/workspaces/{other['id']}/members/{other_owner.id}", json={"role": "viewer"}
    )

    assert response.status_code == 404
    assert (await team.editor.get(f"/v1/workspaces/{other['id']}/members")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/workspaces/nope/members"),
        ("POST", "/v1/workspaces/nope/members"),
        ("PATCH", "/v1/workspaces/{workspace_id}/members/nope"),
        ("DELETE", "/v1/workspaces/{workspace_id}/members/nope"),
        ("PATCH", "/v1/workspaces/nope/members/{user_id}"),
        ("DELETE", "/v1/workspaces/nope/members/{user_id}"),
    ],
)
async def test_a_malformed_id_in_a_member_path_is_a_validation_error(
    team: Team, method: str, path: str
) -> None:
    url = path.format(workspace_id=team.workspace_id, user_id=team.viewer.id)

    response = await team.owner.request(method, url, json={"email": team.newcomer.email, "role": "viewer"})

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_the_service_itself_never_hands_out_the_owner_role(app: FastAPI, team: Team) -> None:
    """The request models already refuse ``owner``; the rule holds for any other caller of the service too."""
    service: WorkspaceService = app.state.resources.services.workspaces
    owner = Actor(user_id=UUID(team.owner.id), credential=Credential.ACCESS_TOKEN)
    workspace_id = UUID(team.workspace_id)

    with pytest.raises(ValidationFailed):
        await service.add_member(
            actor=owner, workspace_id=workspace_id, email=team.newcomer.email, role=Role.OWNER
        )
    with pytest.raises(ValidationFailed):
        await service.change_member_role(
            actor=owner, workspace_id=workspace_id, user_id=UUID(team.editor.id), role=Role.OWNER
        )
    assert (await team.editor.get(team.path)).json()["role"] == "editor"
    assert (await team.newcomer.get(team.path)).status_code == 404
