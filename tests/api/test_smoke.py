"""The first request a newcomer makes: register, log in, read their account."""

from __future__ import annotations

import httpx

from tests.support.accounts import Account


async def test_register_login_me(client: httpx.AsyncClient, alice: Account) -> None:
    response = await alice.get("/v1/users/me")

    assert response.status_code == 200
    assert response.json() == alice.user
    assert response.headers["x-request-id"]
