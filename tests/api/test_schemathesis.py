"""Schemathesis on the OpenAPI document (DESIGN.md §5): requests generated from the schema, valid and
invalid, never make a 500, and every answer matches what the document promises for it.

In valid requests, path parameters name real rows of a fresh workspace half of the time (a random UUID
is only ever 404), so the generated bodies and queries reach the services. Event streams are left out:
a valid request to one never ends; their errors are covered by the stream tests.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.checks import CheckFunction
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation

from tests.conftest import TEST_SECRET_KEY
from tests.support.accounts import Account
from tests.support.conversations import post_message
from tests.support.seed import seed_workspace
from threadline.app import create_app
from threadline.settings import Settings

EVENT_STREAM = "text/event-stream"
CHECKS: list[CheckFunction] = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@functools.cache
def _schema() -> schemathesis.BaseSchema:
    document = create_app(Settings(_env_file=None, secret_key=TEST_SECRET_KEY)).openapi()
    return schemathesis.openapi.from_dict(document)


def _streams(operation: APIOperation) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return any(EVENT_STREAM in response.get("content", {}) for response in responses.values())


def _takes_input(operation: APIOperation) -> bool:
    """Only an operation with parameters or a body has something to send wrong."""
    parts = (operation.path_parameters, operation.query, operation.headers, operation.cookies)
    return any(len(part) for part in parts) or len(operation.body) > 0


def _operations() -> dict[str, APIOperation]:
    operations = (result.ok() for result in _schema().get_all_operations())
    return {operation.label: operation for operation in operations if not _streams(operation)}


def _cases() -> list[Any]:
    """Every operation with valid input, and each one that takes input with invalid input too."""
    return [
        pytest.param(label, mode, id=f"{label} {mode}")
        for label, operation in sorted(_operations().items())
        for mode in GenerationMode
        if mode is GenerationMode.POSITIVE or _takes_input(operation)
    ]


#: ``THREADLINE_FUZZ_EXAMPLES=500`` searches harder, with a fresh random seed each run; by default the
#: examples are few and fixed, so that CI gives the same answer for the same code.
EXAMPLES = os.environ.get("THREADLINE_FUZZ_EXAMPLES")
fuzz = settings(
    max_examples=int(EXAMPLES or 25),
    deadline=None,
    derandomize=EXAMPLES is None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


async def _real_ids(app: FastAPI, owner: Account, member: Account) -> dict[str, str]:
    """A workspace of ``owner`` with ``member``, a conversation, a message and an API key of ``owner``."""
    seeded = await seed_workspace(app, owner, [(member, "viewer")], conversation=True)
    workspace, conversation = seeded.workspace, seeded.conversation
    assert conversation is not None
    message = await post_message(owner, conversation["id"])
    key = await owner.post("/v1/auth/api-keys", json={"name": "fuzz"})
    assert key.status_code == 201, key.text
    return {
        "workspace_id": workspace["id"],
        "conversation_id": conversation["id"],
        "message_id": message["id"],
        "user_id": member.id,
        "key_id": key.json()["id"],
    }


async def _send(client: httpx.AsyncClient, case: Any, token: str) -> httpx.Response:
    sent = case.as_transport_kwargs(base_url=str(client.base_url))
    headers = {"Authorization": f"Bearer {token}", **dict(sent.get("headers") or {})}
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    elif isinstance(sent.get("data"), bytes | str):
        body["content"] = sent["data"]
    elif "data" in sent:
        body["data"] = sent["data"]
    return await client.request(
        sent["method"], sent["url"], headers=headers, params=sent.get("params"), **body
    )


@pytest.mark.parametrize(("label", "mode"), _cases())
@fuzz
@given(data=st.data())
async def test_generated_requests_get_documented_answers(
    app: FastAPI, alice: Account, bob: Account, label: str, mode: GenerationMode, data: st.DataObject
) -> None:
    operation = _operations()[label]
    case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
    if (
        mode is GenerationMode.POSITIVE
        and case.path_parameters
        and data.draw(st.booleans(), label="real ids")
    ):
        ids = await _real_ids(app, alice, bob)
        case.path_parameters = {name: ids.get(name, value) for name, value in case.path_parameters.items()}
    response = await _send(alice.client, case, alice.token)
    negative = mode is GenerationMode.NEGATIVE
    case.validate_response(response, checks=[*CHECKS, checks.negative_data_rejection] if negative else CHECKS)
