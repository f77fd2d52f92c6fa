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
    workspace_id: UUID
    title: str
    modality: str
    metadata: dict[str, Any]
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime = Field(description="Moves forward when the conversation or a message changes.")


class ConversationWithMessagesResponse(ConversationResponse):
    """A conversation with its latest messages (``include=messages``)."""

    messages: list[MessageResponse] = Field(description="The latest 50 messages, oldest first.")

    @classmethod
    def of(cls, found: ConversationWithMessages) -> ConversationWithMessagesResponse:
        return cls.model_validate({**found.conversation.model_dump(), "messages": found.messages})
