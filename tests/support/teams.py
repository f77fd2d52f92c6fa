"""A workspace with one member of every role, plus people outside it, for tests that go role by role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.accounts import Account, sign_up
from tests.support.seed import add_account, seed_workspace


@dataclass(frozen=True)
class Team:
    """``target`` is a viewer the other roles try to change; ``newcomer`` is registered but not a member."""

    workspace_id: str
    owner: Account
    editor: Account
    viewer: Account
    target: Account
    stranger: Account
    newcomer: Account

    @property
    def path(self) -> str:
        return f"/v1/workspaces/{self.workspace_id}"

    def caller(self, role: str) -> Account:
        """The account acting as ``owner``, ``editor``, ``viewer`` or ``stranger``."""
        account: Account = getattr(self, role)
        return account


async def create_workspace(owner: Account, name: str = "Team", **fields: object) -> dict[str, Any]:
    response = await owner.post("/v1/workspaces", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    workspace: dict[str, Any] = response.json()
    return workspace


async def add_member(owner: Account, workspace_id: object, member: Account, role: str) -> None:
    response = await owner.post(
        f"/v1/workspaces/{workspace_id}/members", json={"email": member.email, "role": role}
    )
    assert response.status_code == 201, response.text


_TEAM: dict[str, str | None] = {
    "owner": "owner",
    "editor": "editor",
    "viewer": "viewer",
    "target": "viewer",
    "stranger": None,
    "newcomer": None,
}


async def make_team(client: httpx.AsyncClient, app: FastAPI | None = None) -> Team:
    """Over HTTP; with the test's ``app``, seeded straight through it instead (tests/support/seed.py)."""
    if app is not None:
        accounts = {name: await add_account(app, client, name=name.title()) for name in _TEAM}
        members = [(accounts[name], role) for name, role in _TEAM.items() if role not in {None, "owner"}]
        seeded = await seed_workspace(app, accounts["owner"], members)
        return Team(workspace_id=seeded.workspace_id, **accounts)
    owner, editor, viewer, target, stranger, newcomer = [
        await sign_up(client, name=name.title()) for name in _TEAM
    ]
    workspace = await create_workspace(owner)
    for member, role in ((editor, "editor"), (viewer, "viewer"), (target, "viewer")):
        await add_member(owner, workspace["id"], member, role)
    return Team(
        workspace_id=str(workspace["id"]),
        owner=owner,
        editor=editor,
        viewer=viewer,
        target=target,
        stranger=stranger,
        newcomer=newcomer,
    )
