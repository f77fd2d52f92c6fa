"""The seeding helper (tests/support/seed.py) makes what the API would: accounts that work like signed-up
ones, and a workspace whose members have the roles asked for."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.support.accounts import PASSWORD
from tests.support.seed import add_account, seed


async def test_a_seeded_account_is_signed_in_and_logs_in_with_the_test_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await add_account(app, client, name="Sam")

    me = await account.get("/v1/users/me")
    login = await client.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD})

    assert me.status_code == 200, me.text
    assert me.json() == account.user
    assert login.status_code == 200, login.text
    assert login.json()["user"] == account.user


async def test_a_seeded_workspace_has_each_member_in_their_role_and_a_conversation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    seeded = await seed(
        app, client, members={"owner": "owner", "editor": "editor", "viewer": "viewer"}, conversation=True
    )

    members = await seeded["owner"].get(f"/v1/workspaces/{seeded.workspace_id}/members")
    conversation = await seeded["viewer"].get(f"/v1/conversations/{seeded.conversation_id}")

    assert members.status_code == 200, members.text
    roles = {member["user_id"]: member["role"] for member in members.json()["items"]}
    assert roles == {seeded[name].id: role for name, role in seeded.roles.items()}
    assert conversation.status_code == 200, conversation.text
    assert conversation.json()["workspace_id"] == seeded.workspace_id
