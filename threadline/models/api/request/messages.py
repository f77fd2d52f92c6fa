"""Bodies of the message endpoints, streaming replies included."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from threadline.models.api.fields import Metadata, RequestModel, Text
from threadline.models.domain.conversation import MessageRole
from threadline.models.domain.reply import MAX_CONTENT_LENGTH, MessageStatus

MessageContent = Annotated[Text, Field(min_length=1, max_length=MAX_CONTENT_LENGTH)]


class PostMessageRequest(RequestModel):
    """A new message, appended after the conversation's last one."""

    # Before `content`, whose check reads it.
    status: Literal["complete", "streaming"] = Field(
        default="complete",
        description="`streaming` starts a reply that grows by deltas until it is finished.",
    )
    content: Annotated[Text, Field(max_length=MAX_CONTENT_LENGTH)] = Field(
        description="1 to 100,000 characters; a streaming reply may start empty."
    )
    role: MessageRole = MessageRole.USER
    """Who speaks: `user`, `assistant`, `system` or `tool`."""
    metadata: Metadata = Field(default_factory=dict)

    @field_validator("content")
    @classmethod
    def _empty_only_while_streaming(cls, content: str, info: ValidationInfo) -> str:
        if not content and info.data.get("status") != MessageStatus.STREAMING:
            raise ValueError("must not be empty, unless the message is streaming")
        return content


class UpdateMessageRequest(RequestModel):
    """Fields to change; the ones left out stay as they are."""

    content: MessageContent | None = None
    """The new content, 1 to 100,000 characters."""
    metadata: Metadata | None = None
    """Replaces the metadata as a whole."""


class DeltaRequest(RequestModel):
    """Text to append to a streaming reply, at the length stored so far."""

    offset: int = Field(
        ge=0, le=MAX_CONTENT_LENGTH, description="The reply's stored length, in Unicode code points."
    )
    text: Annotated[Text, Field(min_length=1, max_length=MAX_CONTENT_LENGTH)]


class FinishRequest(RequestModel):
    """How a streaming reply ends, and optionally its final text and metadata."""

    status: Literal["complete", "failed"] = "complete"
    """`complete`, or `failed` for a reply that could not be finished."""
    content: MessageContent | None = Field(default=None, description="Replaces the streamed text.")
    metadata: Metadata | None = Field(default=None, description="Replaces the message's metadata.")
