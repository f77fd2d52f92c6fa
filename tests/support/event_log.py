"""Reads of the stored event log, for tests that check a change wrote (or did not write) its event."""

from __future__ import annotations

from fastapi import FastAPI

from threadline.database.unit_of_work import UnitOfWork
from threadline.models.domain.event import Event


def unit_of_work(app: FastAPI) -> UnitOfWork:
    """A unit of work on the app's own database, for reading what the requests stored."""
    return UnitOfWork(app.state.resources.database)


async def stored_events(app: FastAPI, *, after: int = 0) -> list[Event]:
    """Every event in the log after id ``after``, oldest first."""
    async with unit_of_work(app) as uow:
        return await uow.events.after(after, limit=10_000)


async def last_event_id(app: FastAPI) -> int:
    async with unit_of_work(app) as uow:
        _, newest = await uow.events.bounds()
    return newest or 0
