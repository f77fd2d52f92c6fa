"""The caller's own account: ``GET`` and ``PATCH /v1/users/me`` (API.md §2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, Account
from tests.support.problems import assert_invalid, assert_problem

ME = "/v1/users/me"
NEW_PASSWORD = "a brand new passphrase"


async def login_status(client: httpx.AsyncClient, account: Account, password: str) -> int:
    response = await client.post("/v1/auth/login", json={"email": account.email, "password": password})
    return response.status_code


async def test_get_me_answers_the_callers_account(alice: Account, bob: Account) -> None:
    assert (await alice.get(ME)).json() == alice.user
    assert (await bob.get(ME)).json() == bob.user


@pytest.mark.parametrize("method", ["GET", "PATCH"])
async def test_me_needs_a_credential(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, ME, json={"name": "x"})

    assert_problem(response, 401, "unauthenticated")


async def test_patch_name_strips_it_and_moves_updated_at(alice: Account) -> None:
    response = await alice.patch(ME, json={"name": "  Alice Liddell  "})

    assert response.status_code == 200, response.text
    user = response.json()
    assert user["name"] == "Alice Liddell"
    assert (user["id"], user["email"], user["created_at"]) == (
        alice.id,
        alice.email,
        alice.user["created_at"],
    )
    assert datetime.fromisoformat(user["updated_at"]) > datetime.fromisoformat(alice.user["updated_at"])
    assert (await alice.get(ME)).json() == user


@pytest.mark.parametrize("body", [{}, {"name": None, "password": None}])
async def test_patch_nothing_keeps_the_account(alice: Account, body: dict[str, None]) -> None:
    response = await alice.patch(ME, json=body)

    assert response.status_code == 200
    assert response.json() == alice.user


async def test_password_change_replaces_the_old_password(client: httpx.AsyncClient, alice: Account) -> None:
    response = await alice.patch(ME, json={"password": NEW_PASSWORD, "current_password": PASSWORD})

    assert response.status_code == 200, response.text
    assert await login_status(client, alice, PASSWORD) == 401
    assert await login_status(client, alice, NEW_PASSWORD) == 200


async def test_password_change_needs_the_current_password(client: httpx.AsyncClient, alice: Account) -> None:
    response = await alice.patch(ME, json={"password": NEW_PASSWORD})

    assert_invalid(response, "body", "current_password")
    assert await login_status(client, alice, PASSWORD) == 200


async def test_password_change_with_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await alice.patch(
        ME, json={"name": "Mallory", "password": NEW_PASSWORD, "current_password": "not the password"}
    )

    assert_invalid(response, "body", "current_password")
    assert await login_status(client, alice, NEW_PASSWORD) == 401
    assert await login_status(client, alice, PASSWORD) == 200
    assert (await alice.get(ME)).json()["name"] == alice.user["name"]


@pytest.mark.parametrize("body", [{"name": "Mallory"}, {}], ids=["with a new name", "alone"])
async def test_a_wrong_current_password_is_refused_even_without_a_new_password(
    alice: Account, body: dict[str, str]
) -> None:
    response = await alice.patch(ME, json={**body, "current_password": "not the password"})

    assert_invalid(response, "body", "current_password")
    assert (await alice.get(ME)).json()["name"] == alice.user["name"]


async def test_a_right_current_password_without_a_new_password_changes_only_the_name(alice: Account) -> None:
    response = await alice.patch(ME, json={"name": "Alice B.", "current_password": PASSWORD})

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Alice B."


@pytest.mark.parametrize(
    ("body", "bad_field"),
    [
        pytest.param({"name": "n" * 101}, "name", id="101-char name"),
        pytest.param({"name": 7}, "name", id="name a number"),
        pytest.param({"name": "Al\x00ice"}, "name", id="NUL in name"),
        pytest.param({"password": "p" * 7, "current_password": PASSWORD}, "password", id="7-char password"),
        pytest.param(
            {"password": "p" * 129, "current_password": PASSWORD}, "password", id="129-char password"
        ),
        pytest.param(
            {"password": NEW_PASSWORD, "current_password": 1}, "current_password", id="current a number"
        ),
        pytest.param(
            {"password": NEW_PASSWORD, "current_password": "p" * 129},
            "current_password",
            id="current too long",
        ),
        pytest.param({"email": "new@example.com"}, "email", id="email cannot change"),
    ],
)
async def test_patch_refuses_bad_input(alice: Account, body: dict[str, Any], bad_field: str) -> None:
    response = await alice.patch(ME, json=body)

    assert_invalid(response, "body", bad_field)
