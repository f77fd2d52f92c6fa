"""The OpenAPI document and /docs: every operation and schema described, errors as problem documents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_SECRET_KEY
from threadline.app import create_app
from threadline.settings import Settings

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemResponse"}
NOT_READY_SCHEMA = {"$ref": "#/components/schemas/NotReadyResponse"}
REPLY_CONFLICT_SCHEMA = {"$ref": "#/components/schemas/ReplyConflictResponse"}
REPLY_WRITES = {"deltas", "finish", "cancel"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The document needs no database, so one app (never started) serves the whole module."""
    return create_app(Settings(_env_file=None, secret_key=TEST_SECRET_KEY))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
    }


async def test_every_operation_has_a_summary_and_a_description(document: dict[str, Any]) -> None:
    undescribed = [
        name
        for name, operation in operations(document).items()
        if not operation.get("summary", "").strip() or not operation.get("description", "").strip()
    ]

    assert undescribed == []


async def test_operation_ids_are_the_router_function_names(app: FastAPI, document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for operation in operations(document).values()]

    assert len(ids) == len(set(ids))
    assert {"register", "login", "login_with_form", "get_me", "update_me", "health", "ready"} <= set(ids)


async def test_every_component_schema_has_a_description(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    assert [name for name, schema in schemas.items() if not schema.get("description", "").strip()] == []


async def test_every_schema_field_has_a_description(document: dict[str, Any]) -> None:
    undescribed = [
        f"{name}.{field}"
        for name, schema in document["components"]["schemas"].items()
        for field, spec in schema.get("properties", {}).items()
        if not spec.get("description", "").strip()
    ]

    assert undescribed == []


async def test_every_parameter_has_a_description(document: dict[str, Any]) -> None:
    undescribed = [
        f"{name} {parameter['in']} {parameter['name']}"
        for name, operation in operations(document).items()
        for parameter in operation.get("parameters", [])
        if not parameter.get("description", "").strip()
    ]

    assert undescribed == []


async def test_errors_are_documented_as_problem_documents(document: dict[str, Any]) -> None:
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])
    for name, operation in operations(document).items():
        errors = {
            status: response for status, response in operation["responses"].items() if status[0] in "45"
        }
        assert {"4XX", "5XX"} <= set(errors), name
        for status, response in errors.items():
            schema = PROBLEM_SCHEMA
            if (name, status) == ("GET /ready", "503"):
                schema = NOT_READY_SCHEMA
            elif status == "409" and name.rsplit("/", 1)[-1] in REPLY_WRITES:
                schema = REPLY_CONFLICT_SCHEMA
            assert response["content"] == {"application/problem+json": {"schema": schema}}, (name, status)


async def test_the_operational_answers_are_documented_as_sent(document: dict[str, Any]) -> None:
    metrics, ready = operations(document)["GET /metrics"], operations(document)["GET /ready"]
    not_ready = document["components"]["schemas"]["NotReadyResponse"]

    assert set(metrics["responses"]["200"]["content"]) == {"text/plain"}
    assert {"code", "detail", "database", "event_bus", "migrations"} <= set(not_ready["properties"])
    assert ready["responses"]["503"]["content"]["application/problem+json"]["schema"] == NOT_READY_SCHEMA


async def test_the_oauth2_password_flow_points_at_the_token_endpoint(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]

    [scheme] = schemes.values()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    assert operations(document)["GET /v1/users/me"]["security"] == [{name: []} for name in schemes]
    assert "security" not in operations(document)["POST /v1/auth/register"]


async def test_docs_serve_the_interactive_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


async def test_stripped_names_state_their_limits_in_words(document: dict[str, Any]) -> None:
    """A ``maxLength`` would count the surrounding whitespace that is stripped before the limit applies."""
    schemas = document["components"]["schemas"]
    name = schemas["CreateWorkspaceRequest"]["properties"]["name"]
    title = schemas["CreateConversationRequest"]["properties"]["title"]

    assert "maxLength" not in name
    assert "maxLength" not in title
    assert name["description"] == "1 to 100 characters once surrounding whitespace is removed."
    assert title["description"] == "0 to 200 characters once surrounding whitespace is removed."
