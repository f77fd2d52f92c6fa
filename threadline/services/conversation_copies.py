"""Reusing a conversation: exporting it whole, and forking it into a new one (docs/api-decisions.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.errors import Conflict, NotFound, ValidationFailed
from threadline.models.domain.conversation import Conversation, Message
from threadline.models.domain.event import EventType
from threadline.models.domain.reply import MessageStatus
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import require_conversation, require_conversation_role
from threadline.services.events import conversation_event, log_activities, message_event

PAGE_SIZE = 500
"""Messages read per short transaction by an export or a fork."""


class ConversationCopyService:
    def __init__(self, new_unit_of_work: UnitOfWorkFactory) -> None:
        self._new_unit_of_work = new_unit_of_work

    async def start_export(self, *, actor: Actor, conversation_id: UUID) -> tuple[Conversation, int]:
        """The conversation (any member) and the last ``seq`` the export goes to: what it held when the
        export started. Checked before the response starts, so a refusal is an ordinary 404."""
        async with self._new_unit_of_work() as uow:
            conversation = await require_conversation(uow, actor, conversation_id, Role.VIEWER)
            last = await uow.conversations.last_seq(conversation_id)
        return conversation, last or 0

    async def export_pages(
        self, *, actor: Actor, conversation_id: UUID, through_seq: int
    ) -> AsyncIterator[list[Message]]:
        """The messages up to ``through_seq`` in ``seq`` order, a page per short transaction.

        Each page is read as it stands when it is read, with the caller's access checked again: a
        caller who loses access mid-export gets ``NotFound`` raised into the stream, which then breaks
        off (never a complete-looking document). Memory is one page, whatever the conversation's size.
        """
        position: int | None = 0
        while position is not None:
            async with self._new_unit_of_work() as uow:
                await require_conversation_role(uow, actor, conversation_id, Role.VIEWER)
                page, position = await _page_after(uow, conversation_id, position, through_seq=through_seq)
            if page:
                yield page

    async def fork(
        self, *, actor: Actor, conversation_id: UUID, through_seq: int, title: str | None
    ) -> Conversation:
        """A new conversation in the same workspace (editor or owner) holding copies of the messages
        ``seq`` 1..``through_seq``, numbered 1..n without gaps, with ``metadata.forked_from`` naming the
        source. Its events are those of any creation: ``conversation.created``, then ``message.created``
        for each copy in ``seq`` order.

        The source is locked for the fork (as by any writer of it), so the copies are the messages as
        they stand at one moment. A reply still streaming within 1..S is a ``Conflict``: its text is not
        final, and the copy could never receive the rest.
        """
        async with self._new_unit_of_work() as uow:
            await require_conversation_role(uow, actor, conversation_id, Role.EDITOR, for_change=True)
            await uow.conversations.lock_for_writing([conversation_id])
            now = datetime.now(UTC)
            forked = await _create_fork(uow, actor, conversation_id, through_seq, title=title, now=now)
            copied = 0
            position: int | None = 0
            while position is not None:
                page, position = await _page_after(uow, conversation_id, position, through_seq=through_seq)
                copies = await _copy(uow, page, forked.id, now=now)
                await log_activities(
                    uow,
                    [
                        message_event(
                            EventType.MESSAGE_CREATED, copy, workspace_id=forked.workspace_id, actor=actor
                        )
                        for copy in copies
                    ],
                    now=now,
                )
                copied += len(copies)
            await uow.commit()
        return forked.model_copy(update={"message_count": copied})


async def _page_after(
    uow: UnitOfWork, conversation_id: UUID, position: int, *, through_seq: int
) -> tuple[list[Message], int | None]:
    """The next page of messages after ``position`` up to ``through_seq``, and the position after it
    (``None``: the last page)."""
    if position >= through_seq:
        return [], None
    window = await uow.messages.window(conversation_id, limit=PAGE_SIZE, after=position)
    page = [message for message in window.items if message.seq <= through_seq]
    if not window.has_more or len(page) < len(window.items):
        return page, None
    return page, window.items[-1].seq


async def _create_fork(
    uow: UnitOfWork, actor: Actor, source_id: UUID, through_seq: int, *, title: str | None, now: datetime
) -> Conversation:
    """The new, still empty conversation, logged as created: ``source_id``'s workspace, modality and
    metadata, with ``metadata.forked_from``."""
    source = await uow.conversations.get(source_id)
    last = await uow.conversations.last_seq(source_id)
    if source is None or last is None:
        raise NotFound("Conversation not found")
    if through_seq > last:
        raise ValidationFailed(
            f"through_seq is beyond the conversation's last seq ({last})", loc=("body", "through_seq")
        )
    metadata: dict[str, Any] = {
        **source.metadata,
        "forked_from": {"conversation_id": str(source_id), "through_seq": through_seq},
    }
    forked = await uow.conversations.add(
        workspace_id=source.workspace_id,
        title=source.title if title is None else title,
        modality=source.modality,
        metadata=metadata,
        now=now,
    )
    await log_activities(uow, [conversation_event(EventType.CONVERSATION_CREATED, forked, actor)], now=now)
    return forked


async def _copy(
    uow: UnitOfWork, page: list[Message], conversation_id: UUID, *, now: datetime
) -> list[Message]:
    """Store copies of ``page`` at the end of the new conversation, in order."""
    if not page:
        return []
    streaming = next((message for message in page if message.status is MessageStatus.STREAMING), None)
    if streaming is not None:
        raise Conflict(
            f"The reply at seq {streaming.seq} is still streaming: fork through an earlier seq, "
            "or once it has ended"
        )
    reserved = await uow.conversations.reserve_seqs({conversation_id: len(page)}, now=now)
    seqs = reserved[conversation_id]
    copies = [
        message.model_copy(
            update={
                "id": uuid4(),
                "conversation_id": conversation_id,
                "seq": seq,
                "created_at": now,
                "updated_at": now,
            }
        )
        for message, seq in zip(page, seqs, strict=True)
    ]
    await uow.messages.add_all(copies)
    return copies
