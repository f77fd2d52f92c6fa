"""The first requests a newcomer makes: register, log in, read their account, make a workspace."""

from __future__ import annotations

from tests.support.accounts import Account


async def test_register_login_me(alice: Account) -> None:
    response = await alice.get("/v1/users/me")

    assert response.status_code == 200
    assert response.json() == alice.user
    assert response.headers["x-request-id"]


async def test_create_and_share_workspace(alice: Account, bob: Account) -> None:
    created = await alice.post("/v1/workspaces", json={"name": "  Team  "})
    assert created.status_code == 201, created.text
    workspace = created.json()
    assert workspace["name"] == "Team"
    assert workspace["role"] == "owner"

    assert (await bob.get(f"/v1/workspaces/{workspace['id']}")).status_code == 404
    added = await alice.post(
        f"/v1/workspaces/{workspace['id']}/members", json={"email": bob.email, "role": "viewer"}
    )
    assert added.status_code == 201, added.text
    seen = await bob.get(f"/v1/workspaces/{workspace['id']}")
    assert seen.json()["role"] == "viewer"
    assert (await bob.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "x"})).status_code == 403
