"""Full-text search over the caller's workspaces (docs/search.md)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from threadline.api.dependencies import CurrentActor, SearchServiceDep
from threadline.api.pagination import CursorQuery, QueryInteger
from threadline.models.api.response.search import SearchPageResponse
from threadline.models.domain.conversation import MessageRole
from threadline.models.domain.search import MAX_QUERY_LENGTH, SearchFilters, SearchSort

router = APIRouter(prefix="/v1", tags=["search"])

DEFAULT_SEARCH_LIMIT = 20

SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description='What to find: words (all must match), `"a phrase"`, `prefix*`, `-excluded` '
        '(docs/search.md). Anything else is text, never an operator. Unreadable syntax (an unclosed `"`, '
        "only exclusions) is a 422 whose `errors[0].type` is `search_syntax`.",
    ),
]


@router.get("/search", summary="Search messages and conversation titles")
async def search(
    actor: CurrentActor,
    service: SearchServiceDep,
    q: SearchText,
    workspace_id: Annotated[
        UUID | None, Query(description="Only this workspace (404 if not a member).")
    ] = None,
    conversation_id: Annotated[
        UUID | None, Query(description="Only this conversation (404 if not a member of its workspace).")
    ] = None,
    role: Annotated[
        MessageRole | None, Query(description="Only messages of this role (leaves out title hits).")
    ] = None,
    before: Annotated[
        AwareDatetime | None, Query(description="Only hits created before this time (RFC 3339, with offset).")
    ] = None,
    after: Annotated[AwareDatetime | None, Query(description="Only hits created after this time.")] = None,
    sort: Annotated[
        SearchSort,
        Query(description="`newest` (default: newest message first) or `relevance` (best match first)."),
    ] = SearchSort.NEWEST,
    limit: Annotated[QueryInteger, Query(ge=1, le=100, description="Hits per page, 1 to 100.")] = (
        DEFAULT_SEARCH_LIMIT
    ),
    cursor: CursorQuery = None,
) -> SearchPageResponse:
    """Messages and conversation titles that match `q`, in the workspaces the caller is a member of now.

    Each hit names its workspace, its conversation (id and title) and, for a message, its id, `seq` and
    role, with a snippet in which the matched words are marked `<mark>…</mark>` (the text HTML-escaped).
    A cursor belongs to its search: passed with another query, filters or sort it is a 422.
    """
    filters = SearchFilters(
        workspace_id=workspace_id, conversation_id=conversation_id, role=role, before=before, after=after
    )
    page = await service.search(actor=actor, q=q, filters=filters, sort=sort, limit=limit, cursor=cursor)
    return SearchPageResponse.of(page)
