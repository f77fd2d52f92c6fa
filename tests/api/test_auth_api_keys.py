"""API keys (API.md §2): shown once, listed without their secret, usable as Bearer, revoked at once."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from tests.support.accounts import Account
from tests.support.problems import assert_invalid, assert_problem
from threadline.database.models import ApiKeyRow

KEYS = "/v1/auth/api-keys"


async def create_key(account: Account, **body: Any) -> dict[str, Any]:
    response = await account.post(KEYS, json={"name": "laptop", **body})
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


async def set_expiry(app: FastAPI, key_id: str, expires_at: datetime) -> None:
    """Move a stored key's expiry, standing in for the days that would pass."""
    async with app.state.resources.database.session() as session:
        await session.execute(
            update(ApiKeyRow).where(ApiKeyRow.id == UUID(key_id)).values(expires_at=expires_at)
        )
        await session.commit()


async def test_create_shows_the_key_once(alice: Account) -> None:
    key = await create_key(alice)

    assert set(key) == {"id", "name", "prefix", "key", "created_at", "expires_at"}
    assert key["name"] == "laptop"
    assert key["key"].startswith(key["prefix"])
    assert len(key["key"]) > len(key["prefix"]) + 32
    assert key["expires_at"] is None
    listed = (await alice.get(KEYS)).json()
    assert key["key"] not in str(listed)


async def test_expires_in_days_sets_the_expiry(alice: Account) -> None:
    key = await create_key(alice, expires_in_days=30)

    created_at = datetime.fromisoformat(key["created_at"])
    assert datetime.fromisoformat(key["expires_at"]) - created_at == timedelta(days=30)


async def test_a_key_works_as_bearer_and_is_marked_used(client: httpx.AsyncClient, alice: Account) -> None:
    key = await create_key(alice)

    me = await client.get("/v1/users/me", headers=bearer(key))

    assert me.status_code == 200
    assert me.json() == alice.user
    [listed] = (await alice.get(KEYS)).json()["items"]
    assert listed["last_used_at"] is not None


async def test_list_pages_newest_first_without_secrets(alice: Account, bob: Account) -> None:
    created = [await create_key(alice, name=f"key {number}") for number in range(3)]
    await create_key(bob)

    first = (await alice.get(KEYS, params={"limit": 2})).json()
    second = (await alice.get(KEYS, params={"limit": 2, "cursor": first["next_cursor"]})).json()

    assert [item["name"] for item in first["items"] + second["items"]] == ["key 2", "key 1", "key 0"]
    assert second["next_cursor"] is None
    assert set(first["items"][0]) == {"id", "name", "prefix", "created_at", "expires_at", "last_used_at"}
    assert {item["id"] for item in first["items"] + second["items"]} == {key["id"] for key in created}


async def test_revoked_key_stops_working_at_once(client: httpx.AsyncClient, alice: Account) -> None:
    key = await create_key(alice)
    assert (await client.get("/v1/users/me", headers=bearer(key))).status_code == 200

    revoked = await alice.delete(f"{KEYS}/{key['id']}")

    assert revoked.status_code == 204
    assert revoked.content == b""
    assert_problem(await client.get("/v1/users/me", headers=bearer(key)), 401, "unauthenticated")
    assert (await alice.get(KEYS)).json()["items"] == []
    assert_problem(await alice.delete(f"{KEYS}/{key['id']}"), 404, "not_found")


async def test_revoking_another_users_key_is_404_and_leaves_it_working(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    key = await create_key(alice)

    assert_problem(await bob.delete(f"{KEYS}/{key['id']}"), 404, "not_found")
    assert_problem(await bob.delete(f"{KEYS}/{uuid4()}"), 404, "not_found")

    assert (await client.get("/v1/users/me", headers=bearer(key))).status_code == 200


async def test_an_expired_key_is_refused(client: httpx.AsyncClient, app: FastAPI, alice: Account) -> None:
    key = await create_key(alice, expires_in_days=1)
    assert (await client.get("/v1/users/me", headers=bearer(key))).status_code == 200

    await set_expiry(app, key["id"], datetime.now(UTC) - timedelta(seconds=1))

    assert_problem(await client.get("/v1/users/me", headers=bearer(key)), 401, "unauthenticated")


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param("tl_" + "A" * 43, id="well-formed but unknown"),
        pytest.param("tl_", id="only the mark"),
    ],
)
async def test_an_unknown_key_is_refused(client: httpx.AsyncClient, credential: str) -> None:
    response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {credential}"})

    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(
    ("body", "bad_field"),
    [
        pytest.param({}, "name", id="missing name"),
        pytest.param({"name": "   "}, "name", id="blank name"),
        pytest.param({"name": "n" * 101}, "name", id="101-char name"),
        pytest.param({"name": 5}, "name", id="name a number"),
        pytest.param({"name": "ci\x00"}, "name", id="NUL in name"),
        pytest.param({"name": "ci", "expires_in_days": 0}, "expires_in_days", id="zero days"),
        pytest.param({"name": "ci", "expires_in_days": 3651}, "expires_in_days", id="over ten years"),
        pytest.param({"name": "ci", "expires_in_days": "soon"}, "expires_in_days", id="days not a number"),
        pytest.param({"name": "ci", "expires_in_days": True}, "expires_in_days", id="days a boolean"),
        pytest.param({"name": "ci", "expires_in_days": 1.5}, "expires_in_days", id="days a fraction"),
        pytest.param({"name": "ci", "scopes": ["all"]}, "scopes", id="unknown field"),
    ],
)
async def test_create_refuses_bad_input(alice: Account, body: dict[str, Any], bad_field: str) -> None:
    response = await alice.post(KEYS, json=body)

    assert_invalid(response, "body", bad_field)


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "bad_field"),
    [
        pytest.param({"cursor": "not a cursor"}, "cursor", id="garbage cursor"),
        pytest.param({"cursor": encoded(b"[1, 2]")}, "cursor", id="cursor of the wrong shape"),
        pytest.param(
            {"cursor": encoded(b'{"at": "2026-01-01T00:00:00Z", "id": "x"}')}, "cursor", id="bad cursor id"
        ),
        pytest.param({"cursor": "c" * 513}, "cursor", id="cursor too long"),
        pytest.param({"limit": 0}, "limit", id="limit 0"),
        pytest.param({"limit": 201}, "limit", id="limit 201"),
        pytest.param({"limit": "many"}, "limit", id="limit not a number"),
    ],
)
async def test_list_refuses_bad_paging(alice: Account, params: dict[str, Any], bad_field: str) -> None:
    response = await alice.get(KEYS, params=params)

    assert_invalid(response, "query", bad_field)


async def test_revoke_with_a_malformed_id_is_422(alice: Account) -> None:
    response = await alice.delete(f"{KEYS}/not-a-uuid")

    assert_invalid(response, "path", "key_id")
