"""Replies that stream: appending deltas, finishing, cancelling, and failing the abandoned ones."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.errors import Forbidden, NotFound
from threadline.models.domain.conversation import Message
from threadline.models.domain.event import EventType
from threadline.models.domain.reply import Delta, MessageStatus, check_ending
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import require_conversation_role
from threadline.services.deltas import DeltaPost, DeltaWriter
from threadline.services.events import log_activity, message_event

IDLE_TIMEOUT_ERROR = "idle_timeout"
"""``metadata.error`` of a reply failed by the server because its author went silent."""


class ReplyService:
    def __init__(self, new_unit_of_work: UnitOfWorkFactory, deltas: DeltaWriter) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._deltas = deltas

    def append_delta(self, *, actor: Actor, delta: Delta) -> asyncio.Future[int]:
        """Queue a delta (its reply's author, while it streams); it answers the stored length after it.

        Deltas queued one after another are applied in that order, and those that arrive together are
        written together.
        """
        return self._deltas.submit(DeltaPost(actor, delta))

    async def finish(
        self,
        *,
        actor: Actor,
        conversation_id: UUID,
        message_id: UUID,
        status: MessageStatus,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """End the reply as ``complete`` or ``failed`` (its author); ``content`` replaces its text."""
        return await self._end(
            actor, conversation_id, message_id, status, content=content, metadata=metadata, author_only=True
        )

    async def cancel(self, *, actor: Actor, conversation_id: UUID, message_id: UUID) -> Message:
        """Stop the reply (any editor or owner): its author learns it from its next delta, or the event."""
        return await self._end(actor, conversation_id, message_id, MessageStatus.CANCELLED)

    async def _end(
        self,
        actor: Actor,
        conversation_id: UUID,
        message_id: UUID,
        ending: MessageStatus,
        *,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
        author_only: bool = False,
    ) -> Message:
        async with self._new_unit_of_work() as uow:
            workspace_id, _ = await require_conversation_role(
                uow, actor, conversation_id, Role.EDITOR, for_change=True
            )
            message = await _lock_reply(uow, conversation_id, message_id)
            if author_only and message.author_id != actor.user_id:
                raise Forbidden("Only the message's author may finish it")
            if not check_ending(message.status, ending, length=len(message.content)):
                return message
            ended = await end_reply(uow, message, ending, content=content, metadata=metadata)
            await log_activity(
                uow,
                message_event(EventType.MESSAGE_UPDATED, ended, workspace_id=workspace_id, actor=actor),
                now=ended.updated_at,
            )
            await uow.commit()
        return ended


async def fail_if_idle(uow: UnitOfWork, conversation_id: UUID, message_id: UUID, *, before: datetime) -> bool:
    """Fail the reply if it still streams and last grew before ``before``; whether it did.

    Its conversation and stream are locked first, so of several processes that find it idle, one fails it
    and the others find it ended.
    """
    conversation = await uow.conversations.get(conversation_id)
    if conversation is None:
        return False
    try:
        message = await _lock_reply(uow, conversation_id, message_id)
    except NotFound:
        return False
    states = await uow.replies.lock_streams([message_id])
    state = states.get(message_id)
    if state is None or state.last_delta_at >= before:
        return False
    failed = await end_reply(
        uow, message, MessageStatus.FAILED, metadata={**message.metadata, "error": IDLE_TIMEOUT_ERROR}
    )
    await log_activity(
        uow,
        message_event(EventType.MESSAGE_UPDATED, failed, workspace_id=conversation.workspace_id, actor=None),
        now=failed.updated_at,
    )
    return True


async def _lock_reply(uow: UnitOfWork, conversation_id: UUID, message_id: UUID) -> Message:
    """The message, its conversation locked first: every ending of a reply takes that lock, so the
    message's status cannot change until commit (its text still grows by deltas until ``end_reply``)."""
    await uow.conversations.lock_for_writing([conversation_id])
    message = await uow.messages.get(conversation_id, message_id)
    if message is None:
        raise NotFound("Message not found")
    return message


async def end_reply(
    uow: UnitOfWork,
    message: Message,
    ending: MessageStatus,
    *,
    content: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Close a streaming message's stream and store its text, with ``ending`` as its status.

    Call it with the conversation locked (``_lock_reply``); it records the conversation's activity.
    """
    now = datetime.now(UTC)
    if not await uow.conversations.record_activity(message.conversation_id, now=now):
        raise NotFound("Conversation not found")
    streamed = await uow.replies.end(message.id)
    ended = await uow.messages.update(
        message.conversation_id,
        message.id,
        now=now,
        content=content if content is not None else streamed,
        metadata=metadata,
        status=ending,
    )
    if ended is None:
        raise NotFound("Message not found")
    return ended
