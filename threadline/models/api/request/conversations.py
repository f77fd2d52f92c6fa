"""Bodies of the conversation endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from threadline.models.api.fields import ConversationTitle, Metadata, RequestModel
from threadline.models.domain.conversation import DEFAULT_MODALITY, MODALITY_PATTERN

Modality = Annotated[
    str,
    Field(
        pattern=MODALITY_PATTERN,
        description="How the conversation is held: a lower-case identifier such as `chat`, `voice`, `video`.",
    ),
]


class CreateConversationRequest(RequestModel):
    """A new conversation in the workspace."""

    title: ConversationTitle = ""
    modality: Modality = DEFAULT_MODALITY
    metadata: Metadata = Field(default_factory=dict)


class UpdateConversationRequest(RequestModel):
    """Fields to change; the ones left out stay as they are. The modality is fixed at creation."""

    title: ConversationTitle | None = None
    """The new title, 0 to 200 characters once surrounding whitespace is removed."""
    metadata: Metadata | None = None
    """Replaces the metadata as a whole."""
