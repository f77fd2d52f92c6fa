"""Property-based fuzzing of the write endpoints: whatever JSON arrives, the answer is never a 500, and an
accepted body is stored in a form that reads back (API.md §1: every bad input gets a clear error)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.teams import create_workspace

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

JSON = {"Content-Type": "application/json"}
FIELDS = ["name", "title", "content", "metadata", "role", "modality", "description", "email", "password"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), json_values, max_size=5)
fuzz = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(body=bodies)
async def test_no_json_body_makes_a_server_error(alice: Account, body: dict[str, Any]) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    targets = [
        ("POST", "/v1/workspaces"),
        ("PATCH", f"/v1/workspaces/{workspace['id']}"),
        ("POST", f"/v1/workspaces/{workspace['id']}/conversations"),
        ("PATCH", f"/v1/conversations/{conversation['id']}"),
        ("POST", f"/v1/conversations/{conversation['id']}/messages"),
        ("POST", f"/v1/workspaces/{workspace['id']}/members"),
        ("PATCH", "/v1/users/me"),
        ("POST", "/v1/auth/api-keys"),
    ]
    for method, path in targets:
        # json.dumps writes NaN and Infinity as bare tokens, as careless clients do.
        response = await alice.request(method, path, content=json.dumps(body), headers=JSON)
        assert response.status_code < 500, (method, path, body, response.text)
    # Whatever was accepted reads back.
    for path in [
        f"/v1/workspaces/{workspace['id']}",
        f"/v1/conversations/{conversation['id']}?include=messages",
        "/v1/workspaces",
        "/v1/users/me",
        "/v1/auth/api-keys",
    ]:
        response = await alice.get(path)
        assert response.status_code == 200, (path, body, response.text)


@fuzz
@given(value=st.text(max_size=60))
async def test_no_query_value_makes_a_server_error(alice: Account, value: str) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    for path, parameter in [
        ("/v1/workspaces", "cursor"),
        ("/v1/workspaces", "limit"),
        (f"/v1/workspaces/{workspace['id']}/conversations", "modality"),
        (f"/v1/conversations/{conversation['id']}/messages", "after"),
        (f"/v1/conversations/{conversation['id']}", "include"),
    ]:
        response = await alice.get(path, params={parameter: value})
        assert response.status_code < 500, (path, parameter, value, response.text)
