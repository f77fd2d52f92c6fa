"""Conversations, including the per-conversation ``seq`` counter."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Integer, bindparam, case, delete, select, update
from sqlalchemy.exc import IntegrityError

from threadline.database.models import CONVERSATIONS_TABLE, ConversationRow
from threadline.database.pagination import keyset_page
from threadline.database.repositories.base import Repository
from threadline.database.types import UTCDateTime, as_dict, column_values
from threadline.errors import NotFound
from threadline.models.domain.conversation import Conversation
from threadline.models.domain.pagination import Cursor, Page


def to_conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=row.id,
        workspace_id=row.workspace_id,
        title=row.title,
        modality=row.modality,
        metadata=as_dict(row.meta_data),
        message_count=row.message_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_active_at=row.last_active_at,
    )


_NOW = bindparam("now", type_=UTCDateTime())

_COUNT = bindparam("count", type_=Integer())

# Built once: posting messages runs this on every append, and building a statement costs more than
# running it on SQLite.
_CONVERSATIONS = CONVERSATIONS_TABLE.c
_RESERVE_SEQS = (
    update(CONVERSATIONS_TABLE)
    .where(_CONVERSATIONS.id == bindparam("conversation_id"))
    .values(
        last_seq=_CONVERSATIONS.last_seq + _COUNT,
        message_count=_CONVERSATIONS.message_count + _COUNT,
        last_active_at=case(
            (_CONVERSATIONS.last_active_at < _NOW, _NOW), else_=_CONVERSATIONS.last_active_at
        ),
    )
    .returning(_CONVERSATIONS.last_seq)
)


def _later(now: datetime) -> Any:
    """``last_active_at`` moves forward only, even when a slower transaction commits after a faster one."""
    return case((ConversationRow.last_active_at < now, now), else_=ConversationRow.last_active_at)


class ConversationRepository(Repository):
    async def add(
        self, *, workspace_id: UUID, title: str, modality: str, metadata: dict[str, Any], now: datetime
    ) -> Conversation:
        row = ConversationRow(
            id=uuid4(),
            workspace_id=workspace_id,
            title=title,
            modality=modality,
            meta_data=metadata,
            message_count=0,
            last_seq=0,
            created_at=now,
            updated_at=now,
            last_active_at=now,
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError:
            # The workspace was deleted after the caller's access was checked.
            raise NotFound("Workspace not found") from None
        return to_conversation(row)

    async def get(self, conversation_id: UUID) -> Conversation | None:
        row = await self._session.get(ConversationRow, conversation_id)
        return to_conversation(row) if row else None

    async def list_for_workspace(
        self, workspace_id: UUID, *, modality: str | None, limit: int, cursor: Cursor | None
    ) -> Page[Conversation]:
        query = select(ConversationRow).where(ConversationRow.workspace_id == workspace_id)
        if modality is not None:
            query = query.where(ConversationRow.modality == modality)
        return await keyset_page(
            self._session,
            query,
            at=ConversationRow.last_active_at,
            id_=ConversationRow.id,
            limit=limit,
            cursor=cursor,
            to_domain=to_conversation,
        )

    async def update(self, conversation_id: UUID, *, now: datetime, **changes: Any) -> Conversation | None:
        """Apply ``title`` and/or ``metadata``; ``None`` if the conversation is gone."""
        values = column_values(changes, updated_at=now, last_active_at=_later(now))
        row = await self._session.scalar(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(values)
            .returning(ConversationRow)
        )
        return to_conversation(row) if row else None

    async def reserve_seqs(self, conversation_id: UUID, *, count: int, now: datetime) -> range | None:
        """Hand out the next ``count`` values of ``seq`` and count the new messages, in one statement.

        The UPDATE locks the conversation row until commit, so concurrent posters queue here and receive
        1, 2, 3, ... in commit order; it costs the same however long the conversation is.
        ``None`` if the conversation is gone.
        """
        last: int | None = await self._session.scalar(
            _RESERVE_SEQS, {"conversation_id": conversation_id, "count": count, "now": now}
        )
        return None if last is None else range(last - count + 1, last + 1)

    async def record_activity(self, conversation_id: UUID, *, now: datetime, count_delta: int = 0) -> bool:
        """A message is being edited (or removed, with ``count_delta=-1``): keep the summary columns right.

        Like ``reserve_seqs`` this locks the conversation row, so message writers always lock the conversation
        before the message. ``False`` if the conversation is gone.
        """
        changed = await self._session.scalar(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(message_count=ConversationRow.message_count + count_delta, last_active_at=_later(now))
            .returning(ConversationRow.id)
        )
        return changed is not None

    async def delete(self, conversation_id: UUID) -> Conversation | None:
        """Delete the conversation with its messages; the conversation as it was, or ``None`` if gone."""
        row = await self._session.scalar(
            delete(ConversationRow).where(ConversationRow.id == conversation_id).returning(ConversationRow)
        )
        return to_conversation(row) if row else None
