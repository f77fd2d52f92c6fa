"""Database rows, named for storage. Repositories turn them into domain models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from threadline.database.types import BigIntegerPK, JSONDocument, UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONDocument}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SignInRow(Base):
    """One login: the access token it issued (and the stream tokens asked for with it) carries its id, and
    works only while this row exists. Ending a sign-in deletes it; expired ones are pruned."""

    __tablename__ = "sign_ins"
    __table_args__ = (Index("ix_sign_ins_user_created", "user_id", "created_at"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_used_at: Mapped[datetime]
    client_address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    meta_data: Mapped[dict[str, Any]] = mapped_column("metadata")
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_active_at: Mapped[datetime]


class MembershipRow(Base):
    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_user_added", "user_id", "added_at"),)

    workspace_id: Mapped[UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime]


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_workspace_active", "workspace_id", "last_active_at", "id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    workspace_id: Mapped[UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    modality: Mapped[str] = mapped_column(String(32))
    meta_data: Mapped[dict[str, Any]] = mapped_column("metadata")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    """The highest ``seq`` ever handed out, so deleted messages never free theirs for reuse."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_active_at: Mapped[datetime]
    idle_from: Mapped[datetime | None]
    """The ``last_active_at`` the latest change found after an idle period of ``IDLE_PERIOD`` or longer:
    where a list walk places the conversation when the events that said so have been pruned."""


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    conversation_id: Mapped[UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    meta_data: Mapped[dict[str, Any]] = mapped_column("metadata")
    author_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), server_default="complete")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MessageStreamRow(Base):
    """A reply while it streams: how long it is and when it last grew. Gone once it ends.

    Kept apart from its message so that a delta updates this small row and adds a chunk, and never
    rewrites the message's text: a delta costs the same at the 5,000th as at the first.
    """

    __tablename__ = "message_streams"

    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    """Characters stored so far: the message's own content and its chunks."""
    last_delta_at: Mapped[datetime] = mapped_column(index=True)


class MessageChunkRow(Base):
    """Text appended to a streaming reply, after its message's own content, at ``start``.

    Joined into the message's content when the reply ends, and removed with its stream.
    """

    __tablename__ = "message_chunks"

    message_id: Mapped[UUID] = mapped_column(
        ForeignKey("message_streams.message_id", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class IdempotencyKeyRow(Base):
    """A posted message remembered by the caller's ``Idempotency-Key``, with what was answered."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None]
    """The message as first answered; empty until the claiming transaction has stored it."""
    created_at: Mapped[datetime] = mapped_column(index=True)


class LoginFailureRow(Base):
    """A login attempt counted as failed, against one throttling key, until its window has passed.

    Kept in the database so that every process counts every failure. The key (an email or a client
    address) is stored hashed: the table holds no address or email at rest.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "key_hash", "failed_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(index=True)


class EventRow(Base):
    """The event log. No foreign keys: events outlive what they describe, until retention prunes them."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_id", "workspace_id", "id"),
        Index("ix_events_conversation_id", "conversation_id", "id"),
        Index("ix_events_subject_user_id", "subject_user_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[UUID]
    conversation_id: Mapped[UUID | None]
    actor_id: Mapped[UUID | None]
    subject_user_id: Mapped[UUID | None]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


# The hot paths (posting and paging messages, the event log) run prebuilt Core statements on these tables:
# an ORM statement spends several times longer in SQLAlchemy than SQLite spends running it. The modules
# that share tables with them are Core throughout (docs/architecture.md, "Repositories").
USERS_TABLE: Table = Base.metadata.tables[UserRow.__tablename__]
WORKSPACES_TABLE: Table = Base.metadata.tables[WorkspaceRow.__tablename__]
MEMBERSHIPS_TABLE: Table = Base.metadata.tables[MembershipRow.__tablename__]
CONVERSATIONS_TABLE: Table = Base.metadata.tables[ConversationRow.__tablename__]
MESSAGES_TABLE: Table = Base.metadata.tables[MessageRow.__tablename__]
EVENTS_TABLE: Table = Base.metadata.tables[EventRow.__tablename__]
STREAMS_TABLE: Table = Base.metadata.tables[MessageStreamRow.__tablename__]
CHUNKS_TABLE: Table = Base.metadata.tables[MessageChunkRow.__tablename__]
