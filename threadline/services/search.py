"""Search over what the caller may read: message content and conversation titles (docs/search.md)."""

from __future__ import annotations

from threadline.database.unit_of_work import UnitOfWorkFactory
from threadline.models.domain.search import (
    SearchCursor,
    SearchFilters,
    SearchPage,
    SearchQuery,
    SearchSort,
)
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import require_conversation_role, require_workspace_role


class SearchService:
    def __init__(self, new_unit_of_work: UnitOfWorkFactory, *, relevance_window: int) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._relevance_window = relevance_window

    async def search(
        self,
        *,
        actor: Actor,
        q: str,
        filters: SearchFilters,
        sort: SearchSort,
        limit: int,
        cursor: str | None,
    ) -> SearchPage:
        """One page of hits in the workspaces the caller is a member of at the moment of the read.

        A workspace or conversation filter the caller cannot see is ``NotFound``, as everywhere. Membership
        is part of the search statement itself, so a member removed a moment ago finds nothing there.
        """
        query = SearchQuery.parse(q)
        key = SearchCursor.search_key(query, filters, sort)
        position = SearchCursor.decode(cursor, key) if cursor else None
        async with self._new_unit_of_work() as uow:
            await uow.use_one_snapshot()  # the page and its hits' details agree
            if filters.workspace_id is not None:
                await require_workspace_role(uow, actor, filters.workspace_id, Role.VIEWER)
            if filters.conversation_id is not None:
                await require_conversation_role(uow, actor, filters.conversation_id, Role.VIEWER)
            hits, following = await uow.search.search(
                actor.user_id,
                query,
                filters,
                sort=sort,
                limit=limit,
                after=position,
                relevance_window=self._relevance_window,
            )
        next_cursor = SearchCursor.encode(following, key) if following else None
        return SearchPage(items=hits, next_cursor=next_cursor)
