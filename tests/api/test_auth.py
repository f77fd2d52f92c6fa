"""Registration and login, as JSON and as the OAuth2 form (API.md §2), with good and bad input."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.support.accounts import PASSWORD, Account, unique_email
from tests.support.problems import assert_invalid, assert_problem


def email_of_length(length: int) -> str:
    """A well-formed address of exactly ``length`` characters (local part of 64, labels of at most 63)."""
    return f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * (length - 197)}.com"


async def test_register_answers_the_user_with_a_lower_case_email(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/register",
        json={"email": "Carol.Smith@Example.COM", "password": PASSWORD, "name": " Carol "},
    )

    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "email", "name", "created_at", "updated_at"}
    assert user["email"] == "carol.smith@example.com"
    assert user["name"] == "Carol"
    assert user["created_at"].endswith("Z") or user["created_at"].endswith("+00:00")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"email": email_of_length(254), "password": "p" * 8}, id="254-char email, 8-char password"
        ),
        pytest.param(
            {"email": unique_email(), "password": "p" * 128, "name": "n" * 100},
            id="longest password and name",
        ),
        pytest.param({"email": unique_email(), "password": PASSWORD}, id="no name"),
    ],
)
async def test_register_accepts_input_at_the_limits(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/auth/register", json=body)

    assert response.status_code == 201, response.text
    assert response.json()["name"] == body.get("name", "")


async def test_register_a_taken_email_in_another_case_is_a_conflict(client: httpx.AsyncClient) -> None:
    first = await client.post("/v1/auth/register", json={"email": "dave@example.com", "password": PASSWORD})
    assert first.status_code == 201

    again = await client.post("/v1/auth/register", json={"email": "DAVE@Example.com", "password": PASSWORD})

    assert_problem(again, 409, "conflict")


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("Jose\u0301@Example.com", id="decomposed accent"),
        pytest.param("JOS\u00c9@EXAMPLE.COM", id="upper case"),
        pytest.param(" jos\u00e9@example.com\t", id="surrounding whitespace"),
    ],
)
async def test_an_email_spelt_another_equivalent_way_finds_the_same_account(
    client: httpx.AsyncClient, spelling: str
) -> None:
    registered = await client.post(
        "/v1/auth/register", json={"email": "jos\u00e9@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text

    login = await client.post("/v1/auth/login", json={"email": spelling, "password": PASSWORD})
    again = await client.post("/v1/auth/register", json={"email": spelling, "password": PASSWORD})

    assert login.status_code == 200, login.text
    assert login.json()["user"]["id"] == registered.json()["id"]
    assert_problem(again, 409, "conflict")


@pytest.mark.parametrize(
    ("body", "bad_field"),
    [
        pytest.param({"password": PASSWORD}, "email", id="missing email"),
        pytest.param({"email": "e@example.com"}, "password", id="missing password"),
        pytest.param({"email": 12, "password": PASSWORD}, "email", id="email a number"),
        pytest.param({"email": "e@example.com", "password": 123456789}, "password", id="password a number"),
        pytest.param(
            {"email": "e@example.com", "password": PASSWORD, "name": ["x"]}, "name", id="name a list"
        ),
        pytest.param({"email": "not an email", "password": PASSWORD}, "email", id="malformed email"),
        pytest.param({"email": email_of_length(255), "password": PASSWORD}, "email", id="255-char email"),
        pytest.param({"email": "e@example.com", "password": "p" * 7}, "password", id="7-char password"),
        pytest.param({"email": "e@example.com", "password": "p" * 129}, "password", id="129-char password"),
        pytest.param(
            {"email": "e@example.com", "password": PASSWORD, "name": "n" * 101}, "name", id="101-char name"
        ),
        pytest.param({"email": "e@exam\x00ple.com", "password": PASSWORD}, "email", id="NUL in email"),
        pytest.param(
            {"email": "e@example.com", "password": "pass\x00word"}, "password", id="NUL in password"
        ),
        pytest.param(
            {"email": "e@example.com", "password": PASSWORD, "name": "A\x00"}, "name", id="NUL in name"
        ),
        pytest.param(
            {"email": "e@example.com", "password": PASSWORD, "role": "admin"}, "role", id="unknown field"
        ),
    ],
)
async def test_register_refuses_bad_input(
    client: httpx.AsyncClient, body: dict[str, Any], bad_field: str
) -> None:
    response = await client.post("/v1/auth/register", json=body)

    assert_invalid(response, "body", bad_field)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b'{"email": "e@example.com", "password": ', "application/json", id="truncated JSON"),
        pytest.param(b"\xff\xfe not utf-8", "application/json", id="not UTF-8"),
        pytest.param(b"[]", "application/json", id="a list"),
        pytest.param(b"null", "application/json", id="null"),
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b"email=e@example.com", "application/x-www-form-urlencoded", id="a form"),
    ],
)
async def test_register_refuses_a_body_that_is_not_a_json_object(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post("/v1/auth/register", content=content, headers={"Content-Type": content_type})

    assert_problem(response, 422, "validation_error")


async def test_login_answers_a_bearer_access_token_and_the_user(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post("/v1/auth/login", json={"email": alice.email.upper(), "password": PASSWORD})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["user"] == alice.user
    claims = jwt.decode(body["access_token"], TEST_SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == alice.id
    assert claims["exp"] - claims["iat"] == 3600
    me = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == alice.user


async def test_wrong_password_and_unknown_email_get_the_same_401(
    client: httpx.AsyncClient, alice: Account
) -> None:
    wrong_password = await client.post(
        "/v1/auth/login", json={"email": alice.email, "password": "not it at all"}
    )
    unknown_email = await client.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )

    wrong_password_body = assert_problem(wrong_password, 401, "unauthenticated")
    unknown_email_body = assert_problem(unknown_email, 401, "unauthenticated")
    assert wrong_password_body["detail"] == unknown_email_body["detail"]


@pytest.mark.parametrize(
    ("body", "bad_field"),
    [
        pytest.param({"password": PASSWORD}, "email", id="missing email"),
        pytest.param({"email": "e@example.com"}, "password", id="missing password"),
        pytest.param({"email": ["e@example.com"], "password": PASSWORD}, "email", id="email a list"),
        pytest.param({"email": "e@example.com", "password": None}, "password", id="password null"),
        pytest.param({"email": email_of_length(255), "password": PASSWORD}, "email", id="255-char email"),
        pytest.param({"email": "e@example.com", "password": "p" * 129}, "password", id="129-char password"),
        pytest.param({"email": "e\x00@example.com", "password": PASSWORD}, "email", id="NUL in email"),
        pytest.param(
            {"email": "e@example.com", "password": PASSWORD, "remember": True}, "remember", id="unknown field"
        ),
    ],
)
async def test_login_refuses_bad_input(
    client: httpx.AsyncClient, body: dict[str, Any], bad_field: str
) -> None:
    response = await client.post("/v1/auth/login", json=body)

    assert_invalid(response, "body", bad_field)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="username and password only"),
        pytest.param(
            {"grant_type": "password", "scope": "", "client_id": "docs"}, id="as Swagger UI sends it"
        ),
    ],
)
async def test_token_form_logs_in_like_login(
    client: httpx.AsyncClient, alice: Account, extra: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/auth/token", data={"username": alice.email, "password": PASSWORD, **extra}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == alice.user
    me = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


async def test_token_form_with_a_wrong_password_is_401(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/v1/auth/token", data={"username": alice.email, "password": "wrong password"}
    )

    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(
    ("form", "bad_field"),
    [
        pytest.param({"password": PASSWORD}, "username", id="missing username"),
        pytest.param({"username": "e@example.com"}, "password", id="missing password"),
        pytest.param(
            {"username": "e@example.com", "password": PASSWORD, "grant_type": "client"},
            "grant_type",
            id="other grant",
        ),
        pytest.param(
            {"username": "e\x00@example.com", "password": PASSWORD}, "username", id="NUL in username"
        ),
        pytest.param(
            {"username": email_of_length(255), "password": PASSWORD}, "username", id="255-char username"
        ),
        pytest.param(
            {"username": "e@example.com", "password": "p" * 129}, "password", id="129-char password"
        ),
    ],
)
async def test_token_form_refuses_bad_input(
    client: httpx.AsyncClient, form: dict[str, str], bad_field: str
) -> None:
    response = await client.post("/v1/auth/token", data=form)

    assert_invalid(response, "body", bad_field)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"username=%FF%FE%40example.com&password=%FFabcdefgh", id="escapes that are not UTF-8"),
        pytest.param(b"username=\xff\xfe%40example.com&password=abcdefgh", id="raw bytes that are not UTF-8"),
        pytest.param("username=é%40example.com&password=abcdefgh".encode(), id="raw UTF-8, not escaped"),
    ],
)
async def test_token_form_that_is_not_percent_encoded_utf8_is_malformed(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        "/v1/auth/token", content=content, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert_invalid(response, "body")


async def test_token_form_with_escaped_utf8_logs_in(client: httpx.AsyncClient) -> None:
    email, password = unique_email(), "pässwörd ✓"
    registered = await client.post("/v1/auth/register", json={"email": email, "password": password})
    assert registered.status_code == 201, registered.text

    response = await client.post("/v1/auth/token", data={"username": email, "password": password})

    assert response.status_code == 200, response.text


async def test_token_refuses_a_json_body(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post("/v1/auth/token", json={"username": alice.email, "password": PASSWORD})

    assert_problem(response, 422, "validation_error")
