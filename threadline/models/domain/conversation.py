"""Conversations of any modality, and the messages in them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from threadline.models.domain.base import DomainModel
from threadline.models.domain.reply import MessageStatus

DEFAULT_MODALITY = "chat"
MODALITY_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
"""How a conversation is held (``chat``, ``voice``, ``video``, ...): a short lower-case identifier."""

CONVERSATION_LIST = "conversations"
"""The name a workspace's conversation list gives its cursors (``Cursor.of``)."""


class MessageRole(StrEnum):
    """Who a message speaks for: a person, the assistant, the system prompt, or a tool's result."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class Conversation(DomainModel):
    id: UUID
    workspace_id: UUID
    title: str
    modality: str
    metadata: dict[str, Any]
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime


class NewMessage(DomainModel):
    """A message being posted: what its author sent, before it is stored and numbered."""

    conversation_id: UUID
    role: MessageRole
    content: str
    metadata: dict[str, Any]
    author_id: UUID
    status: MessageStatus = MessageStatus.COMPLETE
    """``streaming`` to start a reply that grows by deltas; otherwise ``complete``."""


class Message(DomainModel):
    id: UUID
    conversation_id: UUID
    seq: int
    role: MessageRole
    content: str
    metadata: dict[str, Any]
    author_id: UUID | None
    status: MessageStatus = MessageStatus.COMPLETE
    created_at: datetime
    updated_at: datetime


class ConversationWithMessages(DomainModel):
    """A conversation and its latest messages, read in one transaction so that the two agree."""

    conversation: Conversation
    messages: list[Message]
