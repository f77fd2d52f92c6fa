"""Replies while they stream: their length, the chunks of text they grow by, and their end.

A reply's text is its message's own ``content`` followed by its chunks in order of ``start``. A delta
updates one small stream row and adds one chunk, whatever the reply's length; the chunks are joined into
the message once, when the reply ends.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.database.models import CHUNKS_TABLE, MESSAGES_TABLE, STREAMS_TABLE
from threadline.database.repositories.base import Repository
from threadline.models.domain.conversation import Message
from threadline.models.domain.reply import StreamState

_STREAMS = STREAMS_TABLE.c
_CHUNKS = CHUNKS_TABLE.c
_MESSAGES = MESSAGES_TABLE.c

_GROW = (
    update(STREAMS_TABLE)
    .where(_STREAMS.message_id == bindparam("stream_id"))
    .values(length=bindparam("length"), last_delta_at=bindparam("now"))
)
_ADD_CHUNKS = insert(CHUNKS_TABLE)


async def streamed_texts(session: AsyncSession, message_ids: Collection[UUID]) -> dict[UUID, str]:
    """The text appended so far to each streaming message (after its own ``content``), in one query."""
    if not message_ids:
        return {}
    texts: dict[UUID, list[str]] = {message_id: [] for message_id in message_ids}
    chunks = await session.execute(
        select(_CHUNKS.message_id, _CHUNKS.text)
        .where(_CHUNKS.message_id.in_(message_ids))
        .order_by(_CHUNKS.message_id, _CHUNKS.start)
    )
    for message_id, text in chunks:
        texts[message_id].append(text)
    return {message_id: "".join(parts) for message_id, parts in texts.items()}


class ReplyRepository(Repository):
    async def start_all(self, replies: Sequence[Message]) -> None:
        """Open the streams of replies just stored (``streaming`` messages), at their own content's length."""
        if replies:
            await self._session.execute(
                insert(STREAMS_TABLE),
                [
                    {"message_id": reply.id, "length": len(reply.content), "last_delta_at": reply.created_at}
                    for reply in replies
                ],
            )

    async def lock_streams(self, message_ids: Collection[UUID]) -> dict[UUID, StreamState]:
        """Where each reply still streaming stands, its stream locked until commit (in id order).

        A reply missing from the answer has ended, or is gone.
        """
        if not message_ids:
            return {}
        query = (
            select(*_STREAMS, _MESSAGES.conversation_id, _MESSAGES.seq, _MESSAGES.author_id)
            .join(MESSAGES_TABLE, _MESSAGES.id == _STREAMS.message_id)
            .where(_STREAMS.message_id.in_(message_ids))
            .order_by(_STREAMS.message_id)
        )
        if self._on_postgresql:
            query = query.with_for_update(of=STREAMS_TABLE, key_share=True)
        rows = await self._session.execute(query)
        return {row.message_id: StreamState(**row._mapping) for row in rows}

    async def text(self, message_id: UUID) -> str:
        """The reply's whole text so far: its own content and every chunk."""
        content = await self._session.scalar(select(_MESSAGES.content).where(_MESSAGES.id == message_id))
        streamed = await streamed_texts(self._session, [message_id])
        return (content or "") + streamed[message_id]

    async def grow(
        self, lengths: Mapping[UUID, int], chunks: Sequence[tuple[UUID, int, str]], *, now: datetime
    ) -> None:
        """Store new chunks ``(message_id, start, text)`` and the streams' new ``lengths``.

        Call it with the streams locked (``lock_streams``), and with at least one chunk.
        """
        await self._session.execute(
            _GROW, [{"stream_id": id_, "length": length, "now": now} for id_, length in lengths.items()]
        )
        await self._session.execute(
            _ADD_CHUNKS, [{"message_id": id_, "start": start, "text": text} for id_, start, text in chunks]
        )

    async def end(self, message_id: UUID) -> str | None:
        """Close the reply's stream: its whole text, or ``None`` if it was not streaming.

        The stream is locked first, so no delta slips in between reading the text and closing. Its chunks go
        with it; the caller stores the text in the message, in the same transaction.
        """
        if not await self.lock_streams([message_id]):
            return None
        text = await self.text(message_id)
        await self._session.execute(delete(STREAMS_TABLE).where(_STREAMS.message_id == message_id))
        return text

    async def idle_since(self, before: datetime, *, limit: int) -> list[tuple[UUID, UUID]]:
        """Replies that last grew before ``before``: their message and conversation ids, oldest first."""
        rows = await self._session.execute(
            select(_STREAMS.message_id, _MESSAGES.conversation_id)
            .join(MESSAGES_TABLE, _MESSAGES.id == _STREAMS.message_id)
            .where(_STREAMS.last_delta_at < before)
            .order_by(_STREAMS.last_delta_at)
            .limit(limit)
        )
        return [(message_id, conversation_id) for message_id, conversation_id in rows]
