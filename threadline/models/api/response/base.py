"""What every response body shares."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageResponse(ResponseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``?cursor=`` for the next, until it is null."""

    items: list[T]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")


class ProblemResponse(BaseModel):
    """An RFC 9457 problem document; ``code`` is stable and meant for programs."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    request_id: str | None = None
    errors: list[dict[str, object]] | None = None
