"""Inputs that break the limits of API.md §1, and the check that they are refused as a 422 problem."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.problems import assert_problem

TOO_LARGE_METADATA = {"blob": "x" * 16 * 1024}


def nested(levels: int) -> dict[str, Any]:
    """A metadata object nested ``levels`` deep (the outer object counts as one)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"inner": value}
    return value


BAD_METADATA: dict[str, object] = {
    "too large": TOO_LARGE_METADATA,
    "too deep": nested(11),
    "NUL in a key": {"a\x00": 1},
    "NUL in a value": {"a": ["b\x00"]},
    "not an object": ["a", "b"],
}


def assert_validation_problem(response: httpx.Response, case: object) -> None:
    """A 422 problem document; ``case`` names the input in the failure message."""
    assert response.status_code == 422, f"{case}: {response.status_code} {response.text}"
    assert_problem(response, 422, "validation_error")
