"""Checks that an error answer is the problem document API.md §1 promises."""

from __future__ import annotations

from typing import Any

import httpx


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "about:blank"
    assert (body["status"], body["code"]) == (status, code)
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if status == 422:
        assert body["errors"]
        assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    return body


def assert_invalid(response: httpx.Response, *loc: str | int) -> None:
    """Assert a 422 validation problem that names ``loc`` (``"body", "email"``) among its errors."""
    body = assert_problem(response, 422, "validation_error")
    assert list(loc) in [error["loc"] for error in body["errors"]], response.text
