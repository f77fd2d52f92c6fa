"""The HTTP conventions of API.md §1: problem documents for every error, request ids, the body limit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.problems import assert_problem

ONE_MIB = 1024 * 1024
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body sent in pieces, without a Content-Length (chunked on a real connection)."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        pytest.param("/v1/users/me", "GET, PATCH", id="users/me"),
        pytest.param("/v1/workspaces", "GET, POST", id="workspaces"),
        pytest.param(f"/v1/workspaces/{uuid4()}", "DELETE, GET, PATCH", id="a workspace"),
    ],
)
async def test_wrong_method_is_a_405_problem_allowing_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    """Each method of a path is a route of its own; ``Allow`` names them all, not only the first one's."""
    response = await client.put(path)

    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


async def test_validation_error_is_a_422_problem_listing_each_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/register", json={"email": "x", "password": "s3cr3t", "extra": 1})

    body = assert_problem(response, 422, "validation_error")
    assert {tuple(error["loc"]) for error in body["errors"]} == {
        ("body", "email"),
        ("body", "password"),
        ("body", "extra"),
    }
    assert "s3cr3t" not in response.text, "a refused value is not echoed back"


@pytest.mark.parametrize(
    "send_length",
    [pytest.param(True, id="with Content-Length"), pytest.param(False, id="chunked")],
)
async def test_a_body_over_one_mib_is_413(client: httpx.AsyncClient, send_length: bool) -> None:
    size = ONE_MIB + 1
    content = b" " * size if send_length else chunks(size)

    response = await client.post(
        "/v1/auth/register", content=content, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "send_length",
    [pytest.param(True, id="with Content-Length"), pytest.param(False, id="chunked")],
)
async def test_a_body_of_exactly_one_mib_is_read(client: httpx.AsyncClient, send_length: bool) -> None:
    content = b" " * ONE_MIB if send_length else chunks(ONE_MIB)

    response = await client.post(
        "/v1/auth/register", content=content, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 422, "validation_error")


async def test_an_oversized_body_is_refused_before_authentication(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/workspaces", content=b" " * (ONE_MIB + 1))

    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/health", 200, id="success"),
        pytest.param("GET", "/v1/users/me", 401, id="unauthenticated"),
        pytest.param("GET", "/v1/missing", 404, id="unknown route"),
        pytest.param("POST", "/v1/auth/login", 422, id="invalid"),
    ],
)
async def test_request_id_is_echoed(client: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    response = await client.request(method, path, headers={"X-Request-ID": "trace-42"})

    assert response.status_code == status
    assert response.headers["x-request-id"] == "trace-42"


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(None, id="none sent"),
        pytest.param("x" * 201, id="too long"),
        pytest.param("", id="empty"),
    ],
)
async def test_request_id_is_generated_when_none_usable_was_sent(
    client: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}

    first = await client.get("/v1/missing", headers=headers)
    second = await client.get("/v1/missing", headers=headers)

    assert GENERATED_ID.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.json()["request_id"] == first.headers["x-request-id"]


async def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing(
    app: FastAPI, alice: Account
) -> None:
    async def explode() -> None:
        raise RuntimeError("SELECT password_hash FROM users -- internal detail")

    app.add_api_route("/v1/test-explode", explode)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/v1/test-explode", headers={"X-Request-ID": "boom-1"})

    assert_problem(response, 500, "internal_error")
    assert response.headers["x-request-id"] == "boom-1"
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
