"""Replies that stream: a message's status, what may follow what, and the deltas that grow its text.

A reply is posted ``streaming``, grows by deltas appended at its stored length, and ends once, for good:
``complete`` or ``failed`` by its author, ``cancelled`` by a member, ``failed`` by the server when its
author goes silent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from threadline.errors import Conflict, ValidationFailed
from threadline.models.domain.base import DomainModel

MAX_CONTENT_LENGTH = 100_000
"""Characters in a message's content, streamed or posted whole (API.md §1)."""


class MessageStatus(StrEnum):
    """Where a message stands: `complete`, or a streaming reply and how it ended."""

    COMPLETE = "complete"
    """Posted whole, or a reply that was finished: the default."""
    STREAMING = "streaming"
    """A reply being written, its text growing delta by delta."""
    FAILED = "failed"
    """Its author gave up on it, or went silent for the idle timeout."""
    CANCELLED = "cancelled"
    """A member pressed stop."""


ENDINGS = frozenset({MessageStatus.COMPLETE, MessageStatus.FAILED, MessageStatus.CANCELLED})
"""What a streaming message may become; an ended message never changes status again."""


class ReplyConflict(Conflict):
    """A write that does not fit the reply as stored. It says where the reply stands, so that its author
    can resend from ``length``, or stop when it is no longer ``streaming``."""

    def __init__(self, detail: str, *, status: MessageStatus, length: int) -> None:
        super().__init__(detail)
        self.status = status
        self.length = length


def check_ending(current: MessageStatus, ending: MessageStatus, *, length: int) -> bool:
    """Whether ending a message as ``ending`` changes it (``True``), or repeats how it ended (``False``).

    A message that ended otherwise is a ``ReplyConflict``; an ``ending`` that is none is a caller's bug.
    """
    if ending not in ENDINGS:
        raise ValueError(f"{ending.value} is not an ending")
    if current is MessageStatus.STREAMING:
        return True
    if current is ending:
        return False
    raise ReplyConflict(f"The message has ended: it is {current.value}", status=current, length=length)


class Delta(DomainModel):
    """Text its author appends to a streaming reply at ``offset``, which must be the stored length."""

    conversation_id: UUID
    message_id: UUID
    offset: int
    text: str


class StreamState(DomainModel):
    """Where a streaming reply stands: what a delta is checked against."""

    message_id: UUID
    conversation_id: UUID
    seq: int
    author_id: UUID | None
    length: int
    last_delta_at: datetime


def place_delta(state_length: int, delta: Delta, stored_text: str | None) -> bool:
    """Whether ``delta`` extends the reply (``True``) or repeats text already stored there (``False``).

    ``stored_text`` is what is stored from ``delta.offset`` on, as long as ``delta.text`` (``None`` when
    the offset is at or past the end). Anything else is a ``ReplyConflict`` naming the stored length, and
    text past the content limit is ``ValidationFailed``.
    """
    if delta.offset == state_length:
        if state_length + len(delta.text) > MAX_CONTENT_LENGTH:
            raise ValidationFailed(
                f"A message holds at most {MAX_CONTENT_LENGTH} characters; {state_length} are stored",
                loc=("body", "text"),
            )
        return True
    if stored_text is not None and stored_text == delta.text:
        return False
    raise ReplyConflict(
        f"The delta's offset must be the stored length, {state_length}",
        status=MessageStatus.STREAMING,
        length=state_length,
    )
