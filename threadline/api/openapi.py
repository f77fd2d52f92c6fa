"""The OpenAPI document, with errors described as the service sends them: problem documents."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from threadline.api.problems import PROBLEM_JSON
from threadline.models.api.response.base import ProblemResponse

_SCHEMAS_REF = "#/components/schemas/{model}"
_ERROR_RANGES = {
    "4XX": "The request cannot be served as sent; `code` says why (API.md §1).",
    "5XX": "The service failed (`internal_error`) or a backend is down (`unavailable`).",
}


def install_problem_openapi(app: FastAPI) -> None:
    """FastAPI documents a 422 as its own ``{"detail": [...]}``, which this service never sends; every
    4xx and 5xx answer is a problem document, so the schema says that instead."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _describe_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _describe_problems(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for fastapi_own in ("HTTPValidationError", "ValidationError"):
        components.pop(fastapi_own, None)
    problem = ProblemResponse.model_json_schema(ref_template=_SCHEMAS_REF, mode="serialization")
    components.update(problem.pop("$defs", {}), ProblemResponse=problem)
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            responses: dict[str, dict[str, Any]] = operation["responses"]
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = _problem_content(_declared_model(response))
            for status_range, description in _ERROR_RANGES.items():
                responses[status_range] = {"description": description, "content": _problem_content()}


def _declared_model(response: dict[str, Any]) -> str:
    """The problem model a route declared for this answer (a subclass with more members), if any."""
    ref = str(response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", ""))
    model = ref.rsplit("/", 1)[-1]
    return model if model.endswith("Response") else "ProblemResponse"


def _problem_content(model: str = "ProblemResponse") -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": _SCHEMAS_REF.format(model=model)}}}
