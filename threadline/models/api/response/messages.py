"""Bodies answered by the message endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from threadline.models.api.response.base import ProblemResponse, ResponseModel
from threadline.models.domain.conversation import MessageRole
from threadline.models.domain.reply import MessageStatus


class MessageResponse(ResponseModel):
    """A message in a conversation."""

    id: UUID
    """The message's id."""
    conversation_id: UUID
    """The conversation it belongs to."""
    seq: int = Field(description="1, 2, 3, ... within the conversation, in commit order; never reused.")
    role: MessageRole
    """Who speaks: `user`, `assistant`, `system` or `tool`."""
    content: str
    """The text; for a streaming reply, as far as it has grown."""
    metadata: dict[str, Any]
    """The client's free-form JSON object."""
    author_id: UUID | None = Field(description="Who posted it; null once that account is deleted.")
    status: MessageStatus = Field(
        description="`complete`, or a reply's: `streaming` while it grows, then `complete`, `failed` or "
        "`cancelled`."
    )
    created_at: datetime
    """When it was posted."""
    updated_at: datetime
    """When it last changed."""


class MessageWindowResponse(ResponseModel):
    """A slice of a conversation's messages, oldest first."""

    items: list[MessageResponse]
    """The messages, oldest first."""
    has_more: bool = Field(description="Whether more messages lie beyond this slice, in the direction read.")


class DeltaResponse(ResponseModel):
    """Where a streaming reply stands after a delta."""

    length: int = Field(description="The reply's stored length: the next delta's `offset`.")


class ReplyConflictResponse(ProblemResponse):
    """A 409 for a write that does not fit a streaming reply: where the reply stands now."""

    length: int = Field(description="The reply's stored length: resend from here.")
    message_status: MessageStatus = Field(description="`streaming`, or how the reply ended: stop then.")
