"""Request bodies of JSON values a line (``application/x-ndjson``), read as they arrive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

NDJSON = "application/x-ndjson"

ModelT = TypeVar("ModelT", bound=BaseModel)


def is_ndjson(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == NDJSON


async def lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The non-empty lines of a body, each as soon as its newline (or the body's end) arrives."""
    pending = b""
    async for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


def parse(model: type[ModelT], body: bytes, *, loc: tuple[str | int, ...] = ("body",)) -> ModelT:
    """``body`` as ``model``, or the 422 of any malformed request body, its errors located under ``loc``."""
    try:
        return model.model_validate_json(body)
    except ValidationError as invalid:
        raise RequestValidationError(
            [{**error, "loc": (*loc, *error["loc"])} for error in invalid.errors(include_url=False)]
        ) from None
