"""Bodies answered by search."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from threadline.models.api.response.base import ResponseModel
from threadline.models.domain.conversation import MessageRole
from threadline.models.domain.search import SearchHit, SearchPage


class HitConversation(ResponseModel):
    """The conversation a hit is in."""

    id: UUID
    """The conversation's id."""
    title: str
    """The conversation's title."""


class SearchHitResponse(ResponseModel):
    """A message that matched, or a conversation whose title matched (`kind`)."""

    kind: str = Field(description="`message`, or `conversation` for a title hit (no message fields).")
    workspace_id: UUID
    """The workspace the conversation is in."""
    conversation: HitConversation
    """The conversation the hit is in."""
    message_id: UUID | None = Field(description="The message that matched; null for a title hit.")
    seq: int | None = Field(description="The message's `seq`: open the conversation there.")
    role: MessageRole | None
    """The message's role; null for a title hit."""
    snippet: str = Field(
        description="The matching text around the matches, as HTML: the text escaped (`&`, `<`, `>`), each "
        "matched word in `<mark>…</mark>`, and `…` where text was cut. Safe to insert as HTML."
    )
    created_at: datetime = Field(description="When the message (or the conversation) was created.")

    @classmethod
    def of(cls, hit: SearchHit) -> SearchHitResponse:
        return cls(
            kind="conversation" if hit.message_id is None else "message",
            workspace_id=hit.workspace_id,
            conversation=HitConversation(id=hit.conversation_id, title=hit.conversation_title),
            message_id=hit.message_id,
            seq=hit.seq,
            role=hit.role,
            snippet=hit.snippet,
            created_at=hit.created_at,
        )


class SearchPageResponse(ResponseModel):
    """One page of hits; pass `next_cursor` as `?cursor=` (with the same query) for the next."""

    items: list[SearchHitResponse]
    """The hits, best first."""
    next_cursor: str | None = Field(description="Opaque; null on the last page.")

    @classmethod
    def of(cls, page: SearchPage) -> SearchPageResponse:
        return cls(items=[SearchHitResponse.of(hit) for hit in page.items], next_cursor=page.next_cursor)
