"""What every response body shares."""

from __future__ import annotations

import inspect
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _describe_page(schema: dict[str, Any]) -> None:
    """``PageResponse[Item]`` is a new class that does not inherit the docstring; give it the generic's."""
    schema["description"] = inspect.cleandoc(PageResponse.__doc__ or "")


class PageResponse(ResponseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``?cursor=`` for the next, until it is null."""

    model_config = ConfigDict(json_schema_extra=_describe_page)

    items: list[T]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")


class FieldErrorResponse(BaseModel):
    """One reason a request is not valid: where (`loc`), what (`msg`) and its kind (`type`)."""

    loc: list[str | int]
    msg: str
    type: str


class ProblemResponse(BaseModel):
    """An RFC 9457 problem document; ``code`` is stable and meant for programs."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    request_id: str | None = None
    errors: list[FieldErrorResponse] | None = Field(default=None, description="Only with `validation_error`.")
