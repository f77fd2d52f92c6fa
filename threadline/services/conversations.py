"""Conversations in a workspace: who may create, read, change and delete them (API.md §4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWorkFactory
from threadline.errors import NotFound
from threadline.models.domain.conversation import CONVERSATION_LIST, Conversation, ConversationWithMessages
from threadline.models.domain.event import EventType
from threadline.models.domain.pagination import Cursor, Page
from threadline.models.domain.user import Actor
from threadline.models.domain.version import Versioned
from threadline.models.domain.workspace import Role
from threadline.services.access import require_conversation, require_conversation_role, require_workspace_role
from threadline.services.events import conversation_event, log_activity

INCLUDED_MESSAGES = 50
"""How many of the latest messages ``include=messages`` carries."""


class ConversationService:
    def __init__(self, new_unit_of_work: UnitOfWorkFactory) -> None:
        self._new_unit_of_work = new_unit_of_work

    async def create_conversation(
        self, *, actor: Actor, workspace_id: UUID, title: str, modality: str, metadata: dict[str, Any]
    ) -> Conversation:
        now = datetime.now(UTC)
        async with self._new_unit_of_work() as uow:
            await require_workspace_role(uow, actor, workspace_id, Role.EDITOR, for_change=True)
            conversation = await uow.conversations.add(
                workspace_id=workspace_id, title=title, modality=modality, metadata=metadata, now=now
            )
            await log_activity(
                uow, conversation_event(EventType.CONVERSATION_CREATED, conversation, actor), now=now
            )
            await uow.commit()
        return conversation

    async def list_conversations(
        self,
        *,
        actor: Actor,
        workspace_id: UUID,
        modality: str | None,
        limit: int,
        cursor: str | None,
        known_version: int | None = None,
    ) -> Versioned[Page[Conversation]]:
        """The workspace's conversations, most recently active first, optionally of one modality; not read
        at all when the workspace is still at ``known_version``, which the caller holds.

        A walk through the pages reads as of its first page's snapshot (the newest event id then): each
        conversation is placed by its activity at that moment, so one that becomes active meanwhile stays
        where it was, and is listed once. Conversations created since belong to the next walk, and one
        deleted meanwhile drops out. A cursor older than ``SNAPSHOT_LIFETIME`` is refused (``StaleCursor``).
        """
        position = Cursor.parse(cursor)
        now = datetime.now(UTC)
        async with self._new_unit_of_work() as uow:
            await require_workspace_role(uow, actor, workspace_id, Role.VIEWER)
            # The version first: the page then reflects at least it, so an unchanged version never hides
            # a change the page missed.
            version = await uow.events.newest_in_workspace(workspace_id)
            if version == known_version:
                return Versioned(version, None)
            snapshot = None
            if position is not None:
                newest = await uow.events.newest_id() or 0
                snapshot = position.snapshot(CONVERSATION_LIST, now=now, newest_event_id=newest)
            page = await uow.conversations.list_for_workspace(
                workspace_id, modality=modality, limit=limit, cursor=position, snapshot=snapshot, now=now
            )
        return Versioned(version, page)

    async def get_conversation(
        self, *, actor: Actor, conversation_id: UUID, known_version: int | None = None
    ) -> Versioned[Conversation]:
        """The conversation (any member); not read again if it is still at ``known_version``."""
        async with self._new_unit_of_work() as uow:
            await uow.use_one_snapshot()  # so that the version is the conversation's
            conversation = await require_conversation(uow, actor, conversation_id, Role.VIEWER)
            version = await uow.events.newest_in_conversation(conversation_id)
        return Versioned(version, None if version == known_version else conversation)

    async def get_conversation_with_messages(
        self, *, actor: Actor, conversation_id: UUID, known_version: int | None = None
    ) -> Versioned[ConversationWithMessages]:
        """The conversation with its latest ``INCLUDED_MESSAGES`` messages, oldest first; not read again
        if it is still at ``known_version``."""
        async with self._new_unit_of_work() as uow:
            await uow.use_one_snapshot()  # so that message_count, the messages and the version agree
            conversation = await require_conversation(uow, actor, conversation_id, Role.VIEWER)
            version = await uow.events.newest_in_conversation(conversation_id)
            if version == known_version:
                return Versioned(version, None)
            latest = await uow.messages.window(conversation_id, limit=INCLUDED_MESSAGES)
        return Versioned(version, ConversationWithMessages(conversation=conversation, messages=latest.items))

    async def update_conversation(
        self,
        *,
        actor: Actor,
        conversation_id: UUID,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Conversation:
        """Apply the ``title`` and ``metadata`` given (editor or owner); nothing to apply writes no event.

        The clock is read once the conversation is locked, so that ``updated_at`` follows commit order.
        """
        async with self._new_unit_of_work() as uow:
            if title is None and metadata is None:
                return await require_conversation(uow, actor, conversation_id, Role.EDITOR)
            await require_conversation_role(uow, actor, conversation_id, Role.EDITOR, for_change=True)
            await uow.conversations.lock_for_writing([conversation_id])
            now = datetime.now(UTC)
            conversation = await uow.conversations.update(
                conversation_id, now=now, title=title, metadata=metadata
            )
            if conversation is None:
                raise NotFound("Conversation not found")
            await log_activity(
                uow, conversation_event(EventType.CONVERSATION_UPDATED, conversation, actor), now=now
            )
            await uow.commit()
        return conversation

    async def delete_conversation(self, *, actor: Actor, conversation_id: UUID) -> None:
        """Delete the conversation and its messages (editor or owner)."""
        now = datetime.now(UTC)
        async with self._new_unit_of_work() as uow:
            await require_conversation_role(uow, actor, conversation_id, Role.EDITOR, for_change=True)
            conversation = await uow.conversations.delete(conversation_id)
            if conversation is None:
                raise NotFound("Conversation not found")
            await log_activity(
                uow, conversation_event(EventType.CONVERSATION_DELETED, conversation, actor), now=now
            )
            await uow.commit()
