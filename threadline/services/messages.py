"""Messages in a conversation: posting (at most once per idempotency key), paging, editing, deleting."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.errors import Conflict, NotFound, ThreadlineError, ValidationFailed
from threadline.models.domain.conversation import Message, MessageRole, NewMessage
from threadline.models.domain.event import EventType
from threadline.models.domain.pagination import MessageWindow
from threadline.models.domain.reply import MessageStatus, ReplyConflict
from threadline.models.domain.user import Actor
from threadline.models.domain.version import Versioned
from threadline.models.domain.workspace import Role
from threadline.services.access import (
    require_conversation_role,
    require_conversation_version,
    require_message_change,
)
from threadline.services.events import log_activity, message_event
from threadline.services.message_appender import MessageAppender
from threadline.services.message_batches import MessagePost, write_batch


class MessageService:
    def __init__(self, new_unit_of_work: UnitOfWorkFactory, appender: MessageAppender) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._appender = appender

    async def post_message(
        self,
        *,
        actor: Actor,
        conversation_id: UUID,
        content: str,
        role: MessageRole,
        metadata: dict[str, Any],
        status: MessageStatus = MessageStatus.COMPLETE,
        idempotency_key: str | None = None,
    ) -> Message:
        """Append a message with the conversation's next ``seq`` (editor or owner); a ``streaming`` one
        starts a reply that grows by deltas (``ReplyService``). With an ``idempotency_key`` the post happens
        at most once (a repeat answers the first message); without one it is group-committed."""
        post = NewMessage(
            conversation_id=conversation_id,
            role=role,
            content=content,
            metadata=metadata,
            author_id=actor.user_id,
            status=status,
        )
        if idempotency_key is None:
            return await self._appender.post(actor, post)
        now = datetime.now(UTC)
        async with self._new_unit_of_work() as uow:
            # Checked before the key is looked at: a repeat needs the same access as the first post.
            await require_conversation_role(uow, actor, conversation_id, Role.EDITOR, for_change=True)
            earlier = await _claim_or_replay(uow, actor, idempotency_key, _request_hash(post), now=now)
            if earlier is not None:
                return earlier
            message = await _write_one(uow, MessagePost(actor, post))
            await uow.idempotency.store_response(
                actor.user_id, idempotency_key, message.model_dump(mode="json")
            )
            await uow.commit()
        return message

    async def list_messages(
        self,
        *,
        actor: Actor,
        conversation_id: UUID,
        limit: int,
        after: int | None,
        before: int | None,
        known_version: int | None = None,
    ) -> Versioned[MessageWindow[Message]]:
        """The first ``limit`` after ``after``, the last before ``before``, or the latest; oldest first.

        Not read at all when the conversation is still at ``known_version``, which the caller holds.
        """
        if after is not None and before is not None:
            raise ValidationFailed("Give after or before, not both", loc=("query", "before"))
        async with self._new_unit_of_work() as uow:
            # The version first: the page then reflects at least it (on PostgreSQL each statement sees
            # the commits before it), so an unchanged version never hides a change the page missed.
            version = await require_conversation_version(uow, actor, conversation_id, Role.VIEWER)
            if version == known_version:
                return Versioned(version, None)
            window = await uow.messages.window(conversation_id, limit=limit, after=after, before=before)
        return Versioned(version, window)

    async def get_message(self, *, actor: Actor, conversation_id: UUID, message_id: UUID) -> Message:
        async with self._new_unit_of_work() as uow:
            await require_conversation_role(uow, actor, conversation_id, Role.VIEWER)
            return await _require_message(uow, conversation_id, message_id)

    async def update_message(
        self,
        *,
        actor: Actor,
        conversation_id: UUID,
        message_id: UUID,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Apply the ``content`` and ``metadata`` given (its author or the workspace owner).

        Nothing to apply changes nothing and writes no event, once the caller's right to change it is checked.
        """
        async with self._new_unit_of_work() as uow:
            if content is None and metadata is None:
                _, unchanged = await _require_changeable(uow, actor, conversation_id, message_id)
                return unchanged
            workspace_id, now, current = await _lock_for_change(uow, actor, conversation_id, message_id)
            if content is not None and current.status is MessageStatus.STREAMING:
                raise ReplyConflict(
                    "A streaming reply's text changes by deltas; finish it with its final content",
                    status=current.status,
                    length=len(current.content),
                )
            message = await uow.messages.update(
                conversation_id, message_id, now=now, content=content, metadata=metadata
            )
            if message is None:
                raise NotFound("Message not found")
            await log_activity(
                uow,
                message_event(EventType.MESSAGE_UPDATED, message, workspace_id=workspace_id, actor=actor),
                now=now,
            )
            await uow.commit()
        return message

    async def delete_message(self, *, actor: Actor, conversation_id: UUID, message_id: UUID) -> None:
        """Delete the message (its author or the workspace owner); its ``seq`` is never handed out again."""
        async with self._new_unit_of_work() as uow:
            workspace_id, now, _ = await _lock_for_change(
                uow, actor, conversation_id, message_id, count_delta=-1
            )
            message = await uow.messages.delete(conversation_id, message_id)
            if message is None:
                raise NotFound("Message not found")
            await log_activity(
                uow,
                message_event(EventType.MESSAGE_DELETED, message, workspace_id=workspace_id, actor=actor),
                now=now,
            )
            await uow.commit()


async def _write_one(uow: UnitOfWork, post: MessagePost) -> Message:
    """The group commit's transaction body, for a batch of one that waits for its locks."""
    written = await write_batch(uow, [post], wait_for_locks=True)
    answer = written.answer(post)
    if isinstance(answer, ThreadlineError):
        raise answer
    assert isinstance(answer, Message), "a batch that waits for its locks sets nothing aside"
    return answer


def _request_hash(post: NewMessage) -> str:
    """What a repeat of an idempotent post must match: its canonical body and its conversation."""
    # A post's status joined the body later: leaving out the default keeps the hash of keys used before.
    left_out = {"author_id"} | ({"status"} if post.status is MessageStatus.COMPLETE else set())
    body = post.model_dump(mode="json", exclude=left_out)
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def _claim_or_replay(
    uow: UnitOfWork, actor: Actor, key: str, request_hash: str, *, now: datetime
) -> Message | None:
    """Claim the key for this post (``None``), or the message an earlier post with it answered.

    On PostgreSQL a concurrent claim waits for the first claimer's commit, so it finds the answer stored.
    """
    if await uow.idempotency.claim(actor.user_id, key, request_hash=request_hash, now=now):
        return None
    earlier = await uow.idempotency.get(actor.user_id, key)
    if earlier is None or earlier.response is None:
        raise Conflict("A request with this Idempotency-Key is still in progress; retry it")
    if earlier.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was already used with a different request")
    return Message.model_validate(earlier.response)


async def _require_message(uow: UnitOfWork, conversation_id: UUID, message_id: UUID) -> Message:
    message = await uow.messages.get(conversation_id, message_id)
    if message is None:
        raise NotFound("Message not found")
    return message


async def _require_changeable(
    uow: UnitOfWork, actor: Actor, conversation_id: UUID, message_id: UUID, *, for_change: bool = False
) -> tuple[UUID, Message]:
    """The message and its workspace id, once the caller is known to be its author or the owner."""
    workspace_id, role = await require_conversation_role(
        uow, actor, conversation_id, Role.VIEWER, for_change=for_change
    )
    message = await _require_message(uow, conversation_id, message_id)
    require_message_change(actor, role, message)
    return workspace_id, message


async def _lock_for_change(
    uow: UnitOfWork, actor: Actor, conversation_id: UUID, message_id: UUID, *, count_delta: int = 0
) -> tuple[UUID, datetime, Message]:
    """Check the caller may change the message, then lock its conversation and record the activity.

    That locks the conversation before the message, the order every writer takes them in (no deadlock
    with a concurrent post or conversation delete), and reads the clock once it is locked, so that
    ``updated_at`` follows the order the changes commit in. Returns the conversation's workspace id, that
    time, and the message as it was read before the lock.
    """
    workspace_id, message = await _require_changeable(
        uow, actor, conversation_id, message_id, for_change=True
    )
    await uow.conversations.lock_for_writing([conversation_id])
    now = datetime.now(UTC)
    if not await uow.conversations.record_activity(conversation_id, now=now, count_delta=count_delta):
        raise NotFound("Conversation not found")
    return workspace_id, now, message
