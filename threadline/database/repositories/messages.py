"""Messages, kept one row each and paged by their per-conversation ``seq``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import Executable, bindparam, delete, insert, select, update

from threadline.database.models import MESSAGES_TABLE
from threadline.database.repositories.base import Repository
from threadline.database.repositories.replies import streamed_texts
from threadline.database.types import given
from threadline.models.domain.conversation import Message
from threadline.models.domain.pagination import MessageWindow
from threadline.models.domain.reply import MessageStatus

# Messages are read and written as plain rows of the Core table, whose columns are named as the domain's
# fields: no ORM entity would outlive its statement. Appends and pages are the hot paths, so their
# statements are built once.
_INSERT = insert(MESSAGES_TABLE)
_MESSAGE_LIST = TypeAdapter(list[Message])

_COLUMNS = MESSAGES_TABLE.c
_PAGE = (
    # Every column but the conversation's id, which the caller already has.
    select(*(column for column in _COLUMNS if column.key != "conversation_id"))
    .where(_COLUMNS.conversation_id == bindparam("conversation_id"))
    .limit(bindparam("limit"))
)
_AFTER = _PAGE.where(_COLUMNS.seq > bindparam("seq")).order_by(_COLUMNS.seq.asc())
_BEFORE = _PAGE.where(_COLUMNS.seq < bindparam("seq")).order_by(_COLUMNS.seq.desc())
_LATEST = _PAGE.order_by(_COLUMNS.seq.desc())


class MessageRepository(Repository):
    async def add_all(self, messages: Sequence[Message]) -> None:
        """Insert new messages, several in one statement; none is no statement at all.

        (An empty parameter list would make SQLAlchemy send ``INSERT … DEFAULT VALUES``, one empty row.)
        """
        if messages:
            await self._session.execute(_INSERT, [message.model_dump() for message in messages])

    async def get(self, conversation_id: UUID, message_id: UUID) -> Message | None:
        return await self._one(
            select(MESSAGES_TABLE).where(
                _COLUMNS.id == message_id, _COLUMNS.conversation_id == conversation_id
            )
        )

    async def window(
        self, conversation_id: UUID, *, limit: int, after: int | None = None, before: int | None = None
    ) -> MessageWindow[Message]:
        """A keyset slice by ``seq``: after ``after``, before ``before``, or the latest; oldest first.

        Reads plain rows from the table rather than ORM entities: pages are the hot read path, and
        identity-mapped instances would only be thrown away.
        """
        parameters = {"conversation_id": conversation_id, "limit": limit + 1}
        if after is not None:
            query, parameters["seq"] = _AFTER, after
        elif before is not None:
            query, parameters["seq"] = _BEFORE, before
        else:
            query = _LATEST
        result = await self._session.execute(query, parameters)
        fields = tuple(result.keys())
        rows = list(result.all())
        has_more = len(rows) > limit
        rows = rows[:limit]
        if after is None:
            rows.reverse()
        # One validation call for the whole page, from plain dicts: half the cost of a model per row.
        items = _MESSAGE_LIST.validate_python(
            [dict(zip(fields, row, strict=True), conversation_id=conversation_id) for row in rows]
        )
        return MessageWindow[Message](items=await self._with_streamed_text(items), has_more=has_more)

    async def update(
        self,
        conversation_id: UUID,
        message_id: UUID,
        *,
        now: datetime,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: MessageStatus | None = None,
    ) -> Message | None:
        """Apply the ``content``, ``metadata`` and ``status`` given; ``None`` if the message is gone."""
        return await self._one(
            update(MESSAGES_TABLE)
            .where(_COLUMNS.id == message_id, _COLUMNS.conversation_id == conversation_id)
            .values(**given(content=content, metadata=metadata, status=status), updated_at=now)
            .returning(*_COLUMNS)
        )

    async def delete(self, conversation_id: UUID, message_id: UUID) -> Message | None:
        """Delete the message; it as it was, or ``None`` if it is gone already."""
        return await self._one(
            delete(MESSAGES_TABLE)
            .where(_COLUMNS.id == message_id, _COLUMNS.conversation_id == conversation_id)
            .returning(*_COLUMNS)
        )

    async def _one(self, statement: Executable) -> Message | None:
        """The message row ``statement`` reads or returns, if any."""
        row = (await self._session.execute(statement)).first()
        if row is None:
            return None
        [message] = await self._with_streamed_text([Message(**row._mapping)])
        return message

    async def _with_streamed_text(self, messages: list[Message]) -> list[Message]:
        """The messages with the text streamed so far into those still ``streaming`` (one query, if any)."""
        streaming = [message.id for message in messages if message.status is MessageStatus.STREAMING]
        if not streaming:
            return messages
        streamed = await streamed_texts(self._session, streaming)
        return [
            message.model_copy(update={"content": message.content + streamed[message.id]})
            if message.id in streamed
            else message
            for message in messages
        ]
