"""The stored event log, for tests: what a change wrote (or did not), and events the hub was not told of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import FastAPI
from sqlalchemy import insert

from tests.support.waiting import eventually
from threadline.database.models import EVENTS_TABLE
from threadline.database.unit_of_work import UnitOfWork
from threadline.events.retention import RetentionPruner
from threadline.models.domain.event import Event, EventType, NewEvent


def unit_of_work(app: FastAPI) -> UnitOfWork:
    """A unit of work on the app's own database, for reading what the requests stored."""
    return UnitOfWork(app.state.resources.database)


async def stored_events(app: FastAPI, *, after: int = 0) -> list[Event]:
    """Every event in the log after id ``after``, oldest first."""
    async with unit_of_work(app) as uow:
        return (await uow.events.after(after, limit=10_000)).events


async def last_event_id(app: FastAPI) -> int:
    async with unit_of_work(app) as uow:
        _, newest = await uow.events.bounds()
    return newest or 0


async def log_messages(app: FastAPI, conversation: dict[str, Any], texts: list[str]) -> None:
    """Append ``message.created`` events straight to the log, in one transaction (quicker than posts)."""
    async with unit_of_work(app) as uow:
        for text in texts:
            await uow.events.append(
                NewEvent(
                    type=EventType.MESSAGE_CREATED,
                    workspace_id=conversation["workspace_id"],
                    conversation_id=conversation["id"],
                    actor_id=None,
                    data={"content": text},
                ),
                now=datetime.now(UTC),
            )
        await uow.commit()


async def log_events_of_unknown_type(app: FastAPI, conversation: dict[str, Any], count: int) -> None:
    """Append ``count`` events of a type this version does not know, as a newer version would write them."""
    rows = [
        {
            "type": "message.reacted",
            "workspace_id": UUID(conversation["workspace_id"]),
            "conversation_id": UUID(conversation["id"]),
            "actor_id": None,
            "subject_user_id": None,
            "payload": {},
            "created_at": datetime.now(UTC),
        }
    ] * count
    async with app.state.resources.database.session() as session:
        await session.execute(insert(EVENTS_TABLE), rows)
        await session.commit()


async def prune_every_event(app: FastAPI) -> None:
    """Run the retention pruner as if every stored event were past retention."""
    await RetentionPruner(
        app.state.resources.database,
        event_retention=timedelta(0),
        delta_retention=timedelta(0),
        login_window=timedelta(minutes=5),
        interval_seconds=1,
    ).prune()


async def hub_reached(app: FastAPI, event_id: int) -> None:
    async def reached() -> bool:
        return bool(app.state.resources.hub.cursor >= event_id)

    await eventually(reached, within=10)
