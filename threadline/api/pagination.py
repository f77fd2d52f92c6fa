"""Query parameters shared by every cursor-paged list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

DEFAULT_LIMIT = 50
"""Items per page when a list request does not say."""


def _decimal_digits(value: Any) -> Any:
    """A whole number in a query string is written in plain digits: ``1.0``, ``+5`` or `` 5`` would be
    read as one by the lax conversion from text, and are refused instead, as a JSON body's ``1.5`` is."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written in digits")
    return value


QueryInteger = Annotated[int, BeforeValidator(_decimal_digits)]
"""An integer query parameter, in plain decimal digits."""

LimitQuery = Annotated[QueryInteger, Query(ge=1, le=200, description="Items per page, 1 to 200.")]
CursorQuery = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page; omit for the first.")
]
