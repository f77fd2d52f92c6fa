"""Bodies of the endpoints that reuse a conversation (fork)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from threadline.models.api.fields import ConversationTitle, RequestModel


class ForkConversationRequest(RequestModel):
    """Copy the conversation's messages 1..`through_seq` into a new conversation."""

    through_seq: Annotated[
        int,
        Field(
            ge=1,
            le=2**31 - 1,
            strict=True,
            description="The last `seq` to copy: messages 1..`through_seq` that exist are copied, numbered "
            "1..n. Beyond the conversation's last `seq` is a 422.",
        ),
    ]
    title: ConversationTitle | None = Field(
        default=None, description="The new conversation's title; the source's title when left out."
    )
