"""What every response body shares."""

from __future__ import annotations

import inspect
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ResponseModel(BaseModel):
    """Base of every response body; a field's docstring is its description in the OpenAPI document."""

    model_config = ConfigDict(from_attributes=True, use_attribute_docstrings=True)


def _describe_page(schema: dict[str, Any]) -> None:
    """``PageResponse[Item]`` is a new class that does not inherit the docstring; give it the generic's."""
    schema["description"] = inspect.cleandoc(PageResponse.__doc__ or "")


class PageResponse(ResponseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``?cursor=`` for the next, until it is null."""

    model_config = ConfigDict(json_schema_extra=_describe_page)

    items: list[T]
    """This page's items, in the list's order."""
    next_cursor: str | None = Field(description="Opaque; null on the last page.")


class FieldErrorResponse(BaseModel):
    """One reason a request is not valid: where (`loc`), what (`msg`) and its kind (`type`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    loc: list[str | int]
    """Where the error is: `body`, `query`, `path` or `header`, then field names and indexes."""
    msg: str
    """What is wrong, for people."""
    type: str
    """The kind of error, for programs (e.g. `missing`, `string_too_long`)."""


class ProblemResponse(BaseModel):
    """An RFC 9457 problem document; ``code`` is stable and meant for programs."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    type: str = "about:blank"
    """A URI naming the problem type; `about:blank` when `code` says it all."""
    title: str
    """The HTTP status phrase."""
    status: int
    """The HTTP status code."""
    code: str
    """Stable, for programs: `validation_error`, `not_found`, `forbidden`, ... (API.md §1)."""
    detail: str
    """What went wrong in this case, for people."""
    request_id: str | None = None
    """The request's `X-Request-ID`, to quote when reporting a problem."""
    errors: list[FieldErrorResponse] | None = Field(default=None, description="Only with `validation_error`.")
