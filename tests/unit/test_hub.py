"""The stream hub against a real event log: it reads what was committed after its cursor, on a ring or on
its poll timer, and a read never hands a subscriber more than its queue holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from tests.support.waiting import eventually
from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.events.hub import StreamHub
from threadline.events.retention import RetentionPruner
from threadline.events.subscription import StreamKind, Subscription
from threadline.models.domain.event import EventType, NewEvent

WAIT_SECONDS = 10


@pytest.fixture
async def hub(database: Database) -> AsyncIterator[StreamHub]:
    hub = StreamHub(database, encode=lambda event: str(event.id).encode(), queue_size=5, poll_seconds=60)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.close()


async def append(
    database: Database,
    conversation_id: UUID,
    count: int = 1,
    *,
    age: timedelta = timedelta(),
    kind: EventType = EventType.MESSAGE_CREATED,
) -> int:
    """Commit ``count`` events (messages posted) in one transaction; returns the last id."""
    async with UnitOfWork(database) as uow:
        for _ in range(count):
            event = await uow.events.append(
                NewEvent(
                    type=kind,
                    workspace_id=uuid4(),
                    conversation_id=conversation_id,
                    actor_id=None,
                    data={},
                ),
                now=datetime.now(UTC) - age,
            )
        await uow.commit()
    return event.id


def follow(hub: StreamHub, conversation_id: UUID) -> Subscription:
    subscription = hub.subscribe(StreamKind.CONVERSATION, user_id=uuid4(), topic_id=conversation_id)
    hub.activate(subscription, {uuid4()}, as_of=hub.cursor)
    return subscription


async def drain(subscription: Subscription, until_id: int) -> list[int]:
    """Read the subscription as a stream would, until ``until_id`` arrives."""
    ids: list[int] = []
    async with asyncio.timeout(WAIT_SECONDS):
        while not ids or ids[-1] < until_id:
            ids += [frame.event_id for frame in await subscription.next_frames()]
    return ids


async def test_the_hub_starts_after_the_newest_stored_event(database: Database) -> None:
    newest = await append(database, uuid4(), 3)
    hub = StreamHub(database, encode=lambda _: b"", queue_size=5, poll_seconds=60)
    await hub.start()
    try:
        assert hub.cursor == newest
    finally:
        await hub.close()


@pytest.fixture
async def hub_started_unable_to_read(database: Database) -> AsyncIterator[StreamHub]:
    """A hub started while the log could not be read (the database refusing its units of work, as while it
    is away or not yet migrated), which can be read from now on."""
    hub = StreamHub(database, encode=lambda event: str(event.id).encode(), queue_size=5, poll_seconds=60)
    database.schema_ready = False
    try:
        await hub.start()
    finally:
        database.schema_ready = True
    try:
        yield hub
    finally:
        await hub.close()


async def test_a_hub_that_could_not_read_at_start_begins_after_the_newest_event_once_it_can(
    database: Database, hub_started_unable_to_read: StreamHub
) -> None:
    hub = hub_started_unable_to_read
    conversation_id = uuid4()
    older = await append(database, conversation_id, 3)
    hub.ring(older)

    async def placed() -> bool:
        return hub.cursor == older

    await eventually(placed)
    assert hub.stats().events_published == 0, "events from before are for replays only"
    subscription = follow(hub, conversation_id)
    later = await append(database, conversation_id)
    hub.ring(later)
    assert await drain(subscription, later) == [later]


async def test_a_stream_activated_before_the_hub_could_read_hears_every_later_event_once(
    database: Database, hub_started_unable_to_read: StreamHub
) -> None:
    """Its authorisation read the log, so its position is where the hub reads on from: the stream replays
    what came before it and hears each later event live, once."""
    hub = hub_started_unable_to_read
    conversation_id = uuid4()
    read_at = await append(database, conversation_id, 2)
    subscription = hub.subscribe(StreamKind.CONVERSATION, user_id=uuid4(), topic_id=conversation_id)

    assert hub.activate(subscription, {uuid4()}, as_of=read_at) == read_at
    last = await append(database, conversation_id, 3)
    hub.ring(last)
    assert await drain(subscription, last) == [read_at + 1, read_at + 2, last]


async def test_a_stream_replays_through_the_newest_of_its_read_and_the_hubs_cursor(
    database: Database, hub: StreamHub
) -> None:
    """The hub may lag the stream's authorisation read, or have read further (another process wrote)."""
    conversation_id = uuid4()
    behind = hub.subscribe(StreamKind.CONVERSATION, user_id=uuid4(), topic_id=conversation_id)
    ahead = hub.subscribe(StreamKind.CONVERSATION, user_id=uuid4(), topic_id=conversation_id)
    read_at = await append(database, conversation_id, 2)  # committed, not yet read by the hub

    assert hub.activate(behind, {uuid4()}, as_of=read_at) == read_at
    assert hub.activate(ahead, {uuid4()}, as_of=hub.cursor - 1) == hub.cursor


async def test_a_ring_delivers_each_new_event_once_in_order(database: Database, hub: StreamHub) -> None:
    conversation_id = uuid4()
    subscription = follow(hub, conversation_id)

    first = await append(database, conversation_id)
    hub.ring(first)
    last = await append(database, conversation_id, 2)
    hub.ring(last)

    assert await drain(subscription, last) == [first, first + 1, last]
    assert hub.stats().events_published == 3


async def test_a_hub_without_streams_moves_past_events_without_publishing_them(
    database: Database, hub: StreamHub
) -> None:
    conversation_id = uuid4()
    skipped = await append(database, conversation_id, 3)
    hub.ring(skipped)

    async def moved() -> bool:
        return hub.cursor == skipped

    await eventually(moved)
    assert hub.stats().events_published == 0, "read and fanned out to no one"
    subscription = follow(hub, conversation_id)
    later = await append(database, conversation_id)
    hub.ring(later)
    assert await drain(subscription, later) == [later], "a later stream hears only what follows"


async def test_a_lost_ring_only_delays_delivery_until_the_poll(database: Database) -> None:
    hub = StreamHub(database, encode=lambda _: b"", queue_size=5, poll_seconds=0.05)
    await hub.start()
    try:
        conversation_id = uuid4()
        subscription = follow(hub, conversation_id)
        last = await append(database, conversation_id)

        assert await drain(subscription, last) == [last]
    finally:
        await hub.close()


async def test_a_burst_larger_than_the_queue_reaches_a_stream_that_keeps_reading(
    database: Database, hub: StreamHub
) -> None:
    conversation_id = uuid4()
    subscription = follow(hub, conversation_id)

    last = await append(database, conversation_id, 23)
    hub.ring(last)

    assert len(await drain(subscription, last)) == 23
    assert subscription.abort_reason is None


async def test_closing_the_hub_ends_every_stream(database: Database) -> None:
    hub = StreamHub(database, encode=lambda _: b"", queue_size=5, poll_seconds=60)
    await hub.start()
    subscription = follow(hub, uuid4())

    await hub.close()

    assert subscription.abort_reason is not None
    assert hub.is_idle()


async def test_shutting_down_ends_a_revoked_stream_still_writing_its_last_frames(
    database: Database, hub: StreamHub
) -> None:
    """A revoked stream leaves the hub's routing at once, yet may still be writing its last frames and
    ``revoked`` to a client that stopped reading: it is open until it ends, and shutting down ends it."""
    conversation_id = uuid4()
    subscription = follow(hub, conversation_id)
    hub.ring(await append(database, conversation_id, kind=EventType.CONVERSATION_DELETED))

    async def revoked() -> bool:
        return subscription.end_reason is not None

    await eventually(revoked, within=WAIT_SECONDS)
    assert hub.stats().streams[StreamKind.CONVERSATION] == 1

    hub.drain()

    assert subscription.abort_reason is not None
    hub.unsubscribe(subscription)
    assert hub.stats().streams[StreamKind.CONVERSATION] == 0


async def test_the_pruner_drops_only_a_prefix_of_the_log(database: Database) -> None:
    """``created_at`` is taken before the log's lock, so it can run against id order by a little: an old
    event committed after a newer one stays until everything before it may go."""
    conversation_id = uuid4()
    expired = await append(database, conversation_id, age=timedelta(days=8))
    kept = await append(database, conversation_id, age=timedelta(days=6))
    late = await append(database, conversation_id, age=timedelta(days=8))

    await RetentionPruner(
        database,
        event_retention=timedelta(days=7),
        delta_retention=timedelta(hours=1),
        login_window=timedelta(minutes=5),
        interval_seconds=3600,
    ).prune()

    async with UnitOfWork(database) as uow:
        remaining = [event.id for event in (await uow.events.after(0, limit=10)).events]
    assert expired < kept < late
    assert remaining == [kept, late]


async def test_the_pruner_drops_events_past_retention_and_keeps_the_rest(database: Database) -> None:
    old = await append(database, uuid4(), 2, age=timedelta(days=8))
    recent = await append(database, uuid4())

    await RetentionPruner(
        database,
        event_retention=timedelta(days=7),
        delta_retention=timedelta(hours=1),
        login_window=timedelta(minutes=5),
        interval_seconds=3600,
    ).prune()

    async with UnitOfWork(database) as uow:
        assert await uow.events.bounds() == (recent, recent)
    assert old < recent
