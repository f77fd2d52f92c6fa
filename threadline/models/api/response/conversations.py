"""Bodies answered by the conversation endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from threadline.models.api.response.base import ResponseModel
from threadline.models.api.response.messages import MessageResponse
from threadline.models.domain.conversation import ConversationWithMessages


class ConversationResponse(ResponseModel):
    """A conversation in a workspace."""

    id: UUID
    """The conversation's id."""
    workspace_id: UUID
    """The workspace it belongs to."""
    title: str
    """Up to 200 characters; may be empty."""
    modality: str
    """How it is held: `chat`, `voice`, `video`, ..."""
    metadata: dict[str, Any]
    """The client's free-form JSON object."""
    message_count: int
    """Messages it holds now (deleted ones not counted)."""
    created_at: datetime
    """When it was created."""
    updated_at: datetime
    """When its title or metadata last changed."""
    last_active_at: datetime = Field(description="Moves forward when the conversation or a message changes.")


class ConversationWithMessagesResponse(ConversationResponse):
    """A conversation with its latest messages (``include=messages``)."""

    messages: list[MessageResponse] = Field(description="The latest 50 messages, oldest first.")

    @classmethod
    def of(cls, found: ConversationWithMessages) -> ConversationWithMessagesResponse:
        return cls.model_validate({**found.conversation.model_dump(), "messages": found.messages})
