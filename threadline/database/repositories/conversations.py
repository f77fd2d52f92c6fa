"""Conversations, including the per-conversation ``seq`` counter."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import bindparam, case, delete, select, update
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
_CONVERSATIONS = CONVERSATIONS_TABLE.c
#: ``last_active_at`` at ``:now``: it moves forward only, even when a slower transaction commits after a
#: faster one.
_LATER = case((_CONVERSATIONS.last_active_at < _NOW, _NOW), else_=_CONVERSATIONS.last_active_at)


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
            list_name="conversations",
            at=ConversationRow.last_active_at,
            id_=ConversationRow.id,
            limit=limit,
            cursor=cursor,
            to_domain=to_conversation,
        )

    async def update(
        self,
        conversation_id: UUID,
        *,
        now: datetime,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Conversation | None:
        """Apply the ``title`` and ``metadata`` given; ``None`` if the conversation is gone."""
        values = {
            **column_values(title=title, metadata=metadata),
            "updated_at": now,
            "last_active_at": _LATER,
        }
        row = await self._session.scalar(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(values)
            .returning(ConversationRow),
            {"now": now},
        )
        return to_conversation(row) if row else None

    async def lock_for_writing(self, ids: Collection[UUID]) -> None:
        """Lock the conversations about to be written, in id order, until commit.

        Every writer of a conversation or its messages takes this lock first (posts before
        ``reserve_seqs``), so later writers wait here and read the clock after it: posts get ``seq`` 1, 2,
        3, ... in commit order, and ``created_at`` and ``updated_at`` follow that order too, even for a
        writer that waited for another's lock (in another process, perhaps).
        """
        await self._lock_rows_in_id_order(CONVERSATIONS_TABLE, _CONVERSATIONS.id.in_(ids))

    async def try_lock_for_writing(self, ids: Collection[UUID]) -> set[UUID]:
        """``lock_for_writing`` without waiting: the conversations now locked, leaving out those another
        transaction holds (and those that are gone). On SQLite, which has no row locks, all of them."""
        if not ids or not self._on_postgresql:
            return set(ids)
        locking = (
            select(_CONVERSATIONS.id)
            .where(_CONVERSATIONS.id.in_(ids))
            .order_by(_CONVERSATIONS.id)
            .with_for_update(key_share=True, skip_locked=True)
        )
        return set(await self._session.scalars(locking))

    async def reserve_seqs(self, counts: Mapping[UUID, int], *, now: datetime) -> dict[UUID, range]:
        """Hand out the next ``counts[id]`` values of ``seq`` of each conversation and count its new messages.

        Call it with the conversations locked (``lock_for_writing``): a writer meeting several rows in plan
        order would deadlock with one that meets them in id order. One UPDATE moves every counter, and costs
        the same however long the conversations are. A conversation that is gone is left out.
        """
        if not counts:
            return {}
        ids = list(counts)
        added = case(*((_CONVERSATIONS.id == id_, count) for id_, count in counts.items()))
        reserved = await self._session.execute(
            update(CONVERSATIONS_TABLE)
            .where(_CONVERSATIONS.id.in_(ids))
            .values(
                last_seq=_CONVERSATIONS.last_seq + added,
                message_count=_CONVERSATIONS.message_count + added,
                last_active_at=_LATER,
            )
            .returning(_CONVERSATIONS.id, _CONVERSATIONS.last_seq),
            {"now": now},
        )
        return {id_: range(last - counts[id_] + 1, last + 1) for id_, last in reserved}

    async def record_activity(self, conversation_id: UUID, *, now: datetime, count_delta: int = 0) -> bool:
        """A message is being edited (or removed, with ``count_delta=-1``): keep the summary columns right.

        Call it with the conversation locked (``lock_for_writing``), before the message is touched: message
        writers always lock the conversation first. ``False`` if the conversation is gone.
        """
        changed = await self._session.scalar(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(message_count=ConversationRow.message_count + count_delta, last_active_at=_LATER)
            .returning(ConversationRow.id),
            {"now": now},
        )
        return changed is not None

    async def last_seq(self, conversation_id: UUID) -> int | None:
        """The highest ``seq`` the conversation ever handed out (0 before its first message); ``None`` if it
        is gone."""
        last: int | None = await self._session.scalar(
            select(_CONVERSATIONS.last_seq).where(_CONVERSATIONS.id == conversation_id)
        )
        return last

    async def delete(self, conversation_id: UUID) -> Conversation | None:
        """Delete the conversation with its messages; the conversation as it was, or ``None`` if gone."""
        row = await self._session.scalar(
            delete(ConversationRow).where(ConversationRow.id == conversation_id).returning(ConversationRow)
        )
        return to_conversation(row) if row else None
