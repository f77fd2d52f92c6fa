"""Bodies of the message endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from threadline.models.api.fields import Metadata, RequestModel, Text
from threadline.models.domain.conversation import MessageRole

MessageContent = Annotated[Text, Field(min_length=1, max_length=100_000)]


class PostMessageRequest(RequestModel):
    """A new message, appended after the conversation's last one."""

    content: MessageContent
    role: MessageRole = MessageRole.USER
    metadata: Metadata = Field(default_factory=dict)


class UpdateMessageRequest(RequestModel):
    """Fields to change; the ones left out stay as they are."""

    content: MessageContent | None = None
    metadata: Metadata | None = None
