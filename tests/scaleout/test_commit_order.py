"""On PostgreSQL, event ids must become visible in id order, or a reader that asks for "every id after my
cursor" (the stream hub) steps over an event that commits late and never delivers it (DESIGN.md §3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from threadline.database.engine import Database, create_engine
from threadline.database.models import EventRow
from threadline.database.unit_of_work import UnitOfWork
from threadline.models.domain.event import EventType, NewEvent

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]

WRITERS = 20
EVENTS_PER_WRITER = 5
PAUSE_BEFORE_COMMIT_SECONDS = 0.02
"""Every other writer holds its transaction open this long after inserting, as a slow request would."""

Append = Callable[[Database, float], Awaitable[int]]


async def append_through_unit_of_work(database: Database, pause: float) -> int:
    """The production path: the event repository takes the log's advisory lock before inserting."""
    async with UnitOfWork(database) as uow:
        event = await uow.events.append(_event(), now=datetime.now(UTC))
        await asyncio.sleep(pause)
        await uow.commit()
    return event.id


async def append_without_log_lock(database: Database, pause: float) -> int:
    """The same insert without the lock: ids are allocated in one order and committed in another."""
    async with database.session() as session:
        event = _event()
        row = EventRow(**event.model_dump(exclude={"data"}), payload=event.data, created_at=datetime.now(UTC))
        session.add(row)
        await session.flush()
        await asyncio.sleep(pause)
        await session.commit()
    return row.id


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(create_engine(database_url, pool_size=WRITERS + 1))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    ("append", "ids_visible_in_order"),
    [(append_through_unit_of_work, True), (append_without_log_lock, False)],
    ids=["with-log-lock", "without-log-lock-breaks"],
)
async def test_a_cursor_reader_never_steps_over_an_event(
    database: Database, append: Append, ids_visible_in_order: bool
) -> None:
    writers_done = asyncio.Event()
    reader = asyncio.create_task(_read_like_the_hub(database, until=writers_done))

    async def write(writer: int) -> list[int]:
        pause = PAUSE_BEFORE_COMMIT_SECONDS if writer % 2 else 0.0
        return [await append(database, pause) for _ in range(EVENTS_PER_WRITER)]

    written = await asyncio.gather(*(write(writer) for writer in range(WRITERS)))
    writers_done.set()
    seen = await reader

    assert seen == sorted(seen)
    # An id the reader passed over became visible only after a higher one had been read.
    stepped_over = sorted({event_id for ids in written for event_id in ids} - set(seen))
    if ids_visible_in_order:
        assert stepped_over == []
    else:
        assert stepped_over, (
            "without the lock the test must see ids commit out of order; is it still able to?"
        )


async def _read_like_the_hub(database: Database, *, until: asyncio.Event) -> list[int]:
    """Poll ``events.after(cursor)`` until the writers are done, then once more; every id read, in order."""
    seen: list[int] = []
    while True:
        last_round = until.is_set()
        async with UnitOfWork(database) as uow:
            events = (await uow.events.after(seen[-1] if seen else 0, limit=10_000)).events
        seen += [event.id for event in events]
        if last_round:
            return seen
        await asyncio.sleep(0.001)


def _event() -> NewEvent:
    return NewEvent(type=EventType.WORKSPACE_UPDATED, workspace_id=uuid4(), actor_id=None, data={})
