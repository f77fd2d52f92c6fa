"""How each change is described in the event log: the contract's event types and their ``data``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork
from threadline.models.domain.conversation import Conversation, Message
from threadline.models.domain.event import Event, EventType, NewEvent
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Member, Workspace


def workspace_event(kind: EventType, workspace: Workspace, actor: Actor) -> NewEvent:
    return NewEvent(
        type=kind, workspace_id=workspace.id, actor_id=actor.user_id, data=workspace.model_dump(mode="json")
    )


def member_event(kind: EventType, member: Member, actor: Actor) -> NewEvent:
    """Membership events name their subject, so that user's own stream hears of them in any workspace."""
    return NewEvent(
        type=kind,
        workspace_id=member.workspace_id,
        actor_id=actor.user_id,
        subject_user_id=member.user_id,
        data=member.model_dump(mode="json", exclude={"workspace_id"}),
    )


def conversation_event(kind: EventType, conversation: Conversation, actor: Actor) -> NewEvent:
    return NewEvent(
        type=kind,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        actor_id=actor.user_id,
        data=conversation.model_dump(mode="json"),
    )


def message_event(kind: EventType, message: Message, *, workspace_id: UUID, actor: Actor | None) -> NewEvent:
    """``actor`` is ``None`` for a change the server made itself (a reply failed for going silent)."""
    return NewEvent(
        type=kind,
        workspace_id=workspace_id,
        conversation_id=message.conversation_id,
        actor_id=actor.user_id if actor else None,
        data=message.model_dump(mode="json"),
    )


async def log_activity(uow: UnitOfWork, event: NewEvent, *, now: datetime) -> Event:
    """Record a change inside a workspace: its event, and the workspace's ``last_active_at``."""
    [logged] = await log_activities(uow, [event], now=now)
    return logged


async def log_activities(uow: UnitOfWork, events: Sequence[NewEvent], *, now: datetime) -> list[Event]:
    """``log_activity`` for several changes at once: each workspace is touched once."""
    await uow.workspaces.touch({event.workspace_id for event in events}, now=now)
    return await uow.events.append_all(events, now=now)
