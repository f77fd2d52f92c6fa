"""Query parameters shared by every cursor-paged list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

DEFAULT_LIMIT = 50
"""Items per page when a list request does not say."""

LimitQuery = Annotated[int, Query(ge=1, le=200, description="Items per page, 1 to 200.")]
CursorQuery = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page; omit for the first.")
]
