"""What the server answers, as typed models (API.md and docs/streaming.md).

Unknown fields are ignored, so a client keeps working against a newer server that adds some.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Role = Literal["owner", "editor", "viewer"]
MessageRole = Literal["user", "assistant", "system", "tool"]
MessageStatus = Literal["complete", "streaming", "failed", "cancelled"]


class Answer(BaseModel):
    """Base of every answer: immutable, and lenient about fields this version does not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class User(Answer):
    id: UUID
    email: str
    name: str
    created_at: datetime
    updated_at: datetime


class Token(Answer):
    """An access token for ``Authorization: Bearer``, and whose it is."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: User


class ApiKey(Answer):
    """An API key as listed: its secret is never shown again."""

    id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None


class NewApiKey(Answer):
    """A just-created API key; ``key`` is shown this once."""

    id: UUID
    name: str
    prefix: str
    key: str
    created_at: datetime
    expires_at: datetime | None


class StreamToken(Answer):
    """A short-lived token accepted only by the event streams, as ``?token=``."""

    token: str
    expires_in: int


class Page(Answer, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next, until it is ``None``."""

    items: list[T]
    next_cursor: str | None


class Workspace(Answer):
    """A workspace; ``role`` is the caller's (``None`` in events, which are the same for every member)."""

    id: UUID
    name: str
    description: str
    metadata: dict[str, Any]
    owner_id: UUID
    role: Role | None = None
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime


class Member(Answer):
    user_id: UUID
    email: str
    name: str
    role: Role
    added_at: datetime


class Message(Answer):
    """A message; a streaming reply's ``content`` is its text so far."""

    id: UUID
    conversation_id: UUID
    seq: int
    role: MessageRole
    content: str
    metadata: dict[str, Any]
    author_id: UUID | None
    status: MessageStatus = "complete"
    created_at: datetime
    updated_at: datetime


class MessageWindow(Answer):
    """A slice of a conversation's messages, oldest first."""

    items: list[Message]
    has_more: bool


class HitConversation(Answer):
    id: UUID
    title: str


class SearchHit(Answer):
    """A message that matched a search, or a conversation whose title did (``kind``).

    ``snippet`` is HTML: the text escaped, the matched words in ``<mark>…</mark>``.
    """

    kind: Literal["message", "conversation"]
    workspace_id: UUID
    conversation: HitConversation
    message_id: UUID | None
    seq: int | None
    role: str | None
    snippet: str
    created_at: datetime


class Conversation(Answer):
    """A conversation; ``messages`` (its latest 50, oldest first) only when asked for."""

    id: UUID
    workspace_id: UUID
    title: str
    modality: str
    metadata: dict[str, Any]
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime
    messages: list[Message] | None = None


class DeltaAccepted(Answer):
    """Where a streaming reply stands after a delta: ``length`` is the next delta's offset."""

    length: int


class Delta(Answer):
    """The ``data`` of a ``message.delta`` event: ``text`` replaces the shown text from ``offset`` on."""

    message_id: UUID
    conversation_id: UUID
    seq: int
    offset: int
    text: str


class StreamCounts(Answer):
    user: int
    workspace: int
    conversation: int


class StreamStats(Answer):
    """The event streams of the one server process that answered."""

    connections: int
    streams: StreamCounts
    events_published: int
    instance: str


class Health(Answer):
    status: str


class Readiness(Answer):
    status: str
    database: str
    event_bus: str


class FieldError(Answer):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document; extra members (``length``, ``message_status``, …) are kept."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = "about:blank"
    title: str = ""
    status: int
    code: str = "unknown"
    detail: str = ""
    request_id: str | None = None
    errors: list[FieldError] | None = None


class Event(Answer):
    """One change, as its stream carries it; ``data`` is the resource after the change."""

    id: int
    type: str = Field(description="`message.created`, `member.removed`, …; see docs/events.md.")
    created_at: datetime
    workspace_id: UUID
    conversation_id: UUID | None
    actor_id: UUID | None
    data: dict[str, Any]

    def message(self) -> Message:
        """The message of a ``message.*`` event (``message.delta`` excepted: see ``delta``)."""
        return Message.model_validate(self.data)

    def delta(self) -> Delta:
        """The appended text of a ``message.delta`` event."""
        return Delta.model_validate(self.data)

    def conversation(self) -> Conversation:
        """The conversation of a ``conversation.*`` event."""
        return Conversation.model_validate(self.data)

    def member(self) -> Member:
        """The member of a ``member.*`` event."""
        return Member.model_validate(self.data)

    def workspace(self) -> Workspace:
        """The workspace of a ``workspace.*`` event."""
        return Workspace.model_validate(self.data)


class Reset(Answer):
    """The stream could not resume where asked and continues live from here: reload what you show."""

    reason: str


class Revoked(Answer):
    """The stream ended for good because access ended; reconnecting would be refused."""

    reason: str


StreamItem = Event | Reset | Revoked
"""What an event stream yields: events, and the two signals a caller must act on."""
