"""Access and stream tokens (API.md §2): a bad token is a 401, a stream token opens no REST endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_SECRET_KEY
from tests.support.accounts import Account
from tests.support.problems import assert_problem

# Endpoints that take no credential, and the event streams, which are the only ones to take stream tokens.
PUBLIC_PATHS = {"/v1/auth/register", "/v1/auth/login", "/v1/auth/token"}
STREAM_PATH = re.compile(r"/events$")


def signed(claims: dict[str, Any], key: str = TEST_SECRET_KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def access_claims(account: Account, **changes: Any) -> dict[str, Any]:
    """The claims of ``account``'s own access token (its sign-in included), with ``changes``."""
    now = datetime.now(UTC)
    own = jwt.decode(account.token, TEST_SECRET_KEY, algorithms=["HS256"])
    claims = {
        "sub": account.id,
        "sid": own["sid"],
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **changes,
    }
    return {name: value for name, value in claims.items() if value is not None}


def rest_endpoints(app: FastAPI) -> list[tuple[str, str]]:
    """Every method and path under /v1 that needs a credential, with its path parameters filled in."""
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", str(uuid4()), path))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1/") and path not in PUBLIC_PATHS and not STREAM_PATH.search(path)
        for method in operations
    ]


async def test_stream_token_is_issued_for_300_seconds(alice: Account) -> None:
    response = await alice.post("/v1/auth/stream-tokens")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["expires_in"] == 300
    claims = jwt.decode(body["token"], TEST_SECRET_KEY, algorithms=["HS256"])
    assert (claims["sub"], claims["typ"]) == (alice.id, "stream")
    assert claims["exp"] - claims["iat"] == 300


async def test_stream_token_is_refused_by_every_rest_endpoint(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    token = (await alice.post("/v1/auth/stream-tokens")).json()["token"]
    endpoints = rest_endpoints(app)
    assert ("GET", "/v1/users/me") in endpoints

    statuses = {
        (method, path): (
            await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, json={})
        ).status_code
        for method, path in endpoints
    }

    assert statuses == dict.fromkeys(endpoints, 401)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda alice: signed(access_claims(alice), key="another-secret-key-32-bytes-long!!"),
            id="forged",
        ),
        pytest.param(
            lambda alice: signed(access_claims(alice, exp=datetime.now(UTC) - timedelta(seconds=5))),
            id="expired",
        ),
        pytest.param(
            lambda alice: signed(access_claims(alice), algorithm="HS512"),
            id="other algorithm",
            marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
        ),
        pytest.param(lambda alice: jwt.encode(access_claims(alice), None, algorithm="none"), id="unsigned"),
        pytest.param(lambda alice: signed(access_claims(alice, typ=None)), id="no type"),
        pytest.param(lambda alice: signed(access_claims(alice, typ="refresh")), id="unknown type"),
        pytest.param(lambda alice: signed(access_claims(alice, exp=None)), id="no expiry"),
        pytest.param(lambda alice: signed(access_claims(alice, sub=None)), id="no subject"),
        pytest.param(lambda alice: signed(access_claims(alice, sub="alice")), id="subject not a uuid"),
        pytest.param(lambda alice: signed(access_claims(alice, sub=str(uuid4()))), id="no such user"),
        pytest.param(lambda alice: signed(access_claims(alice, sid=None)), id="no sign-in"),
        pytest.param(lambda alice: signed(access_claims(alice, sid=str(uuid4()))), id="no such sign-in"),
        pytest.param(lambda alice: signed(access_claims(alice, sid=12)), id="sign-in claim a number"),
        pytest.param(lambda alice: signed(access_claims(alice, key=12)), id="key claim a number"),
        pytest.param(lambda alice: signed(access_claims(alice, key="k")), id="key claim not a uuid"),
        pytest.param(lambda alice: "not-a-jwt", id="malformed"),
        pytest.param(lambda alice: "a.b.c", id="three garbage segments"),
    ],
)
async def test_a_bad_access_token_is_401(client: httpx.AsyncClient, alice: Account, make_token: Any) -> None:
    response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {make_token(alice)}"})

    assert_problem(response, 401, "unauthenticated")


async def test_a_tampered_token_is_401(client: httpx.AsyncClient, alice: Account) -> None:
    header, payload, signature = alice.token.split(".")
    tampered = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"

    response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {tampered}"})

    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no Authorization"),
        pytest.param({"Authorization": "Bearer"}, id="empty Bearer"),
        pytest.param({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, id="Basic"),
        pytest.param({"Authorization": "Token abc"}, id="other scheme"),
    ],
)
async def test_missing_or_foreign_credentials_are_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/users/me", headers=headers)

    assert_problem(response, 401, "unauthenticated")


async def test_a_valid_token_signed_by_the_test_key_is_accepted(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The control for the cases above: only the broken part makes them fail."""
    response = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {signed(access_claims(alice))}"}
    )

    assert response.status_code == 200


async def test_a_valid_token_of_an_account_that_is_gone_opens_nothing(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """As after a database restored from an older backup: the signature verifies, but neither the account
    nor its sign-in is there, so the token is refused everywhere."""
    token = signed(access_claims(alice, sub=str(uuid4()), sid=str(uuid4())))
    headers = {"Authorization": f"Bearer {token}"}

    statuses = {
        (method, path): (await client.request(method, path, headers=headers, json={})).status_code
        for method, path in rest_endpoints(app)
    }

    assert statuses == dict.fromkeys(statuses, 401)
