"""A subscription: the ordered, bounded queue between the hub and one stream, able to cut a stalled write."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from threadline.events.subscription import Frame, StreamKind, Subscription


def subscription(capacity: int = 10, *, replayed_through: int = 0) -> Subscription:
    """An activated subscription whose stream replays up to ``replayed_through``."""
    queue = Subscription(StreamKind.CONVERSATION, user_id=uuid4(), topic_id=uuid4(), capacity=capacity)
    queue.skip_through(replayed_through)
    return queue


async def test_frames_come_out_in_order_and_a_waiting_stream_wakes_for_them() -> None:
    queue = subscription()
    waiting = asyncio.create_task(queue.next_frames())
    await asyncio.sleep(0)

    assert queue.offer(Frame(1, b"a"))
    assert queue.offer(Frame(2, b"b"))

    assert [frame.event_id for frame in await waiting] == [1, 2]


async def test_a_nudge_ends_the_wait_with_nothing() -> None:
    queue = subscription()
    waiting = asyncio.create_task(queue.next_frames())
    await asyncio.sleep(0)

    queue.nudge()

    assert await waiting == []


async def test_an_ended_subscription_still_hands_out_what_was_queued_first() -> None:
    queue = subscription()
    queue.offer(Frame(1, b"a"))
    queue.end("revoked")

    assert [frame.event_id for frame in await queue.next_frames()] == [1]
    assert await queue.next_frames() == []
    assert queue.end_reason == "revoked"


async def test_overflow_aborts_instead_of_growing() -> None:
    queue = subscription(capacity=2)

    assert queue.offer(Frame(1, b"a"))
    assert queue.offer(Frame(2, b"b"))
    assert not queue.offer(Frame(3, b"c"))

    assert queue.abort_reason is not None


async def test_frames_the_replay_sends_take_no_place_in_the_queue() -> None:
    """A hub lagging the stream's authorisation read offers events the replay sends: they are dropped, not
    queued, so they cannot overflow a queue the client keeps up with."""
    queue = subscription(capacity=2, replayed_through=10)

    assert all(queue.offer(Frame(event_id, b"old")) for event_id in range(1, 11))
    assert queue.offer(Frame(11, b"a"))
    assert queue.offer(Frame(12, b"b"))

    assert queue.abort_reason is None
    assert [frame.event_id for frame in await queue.next_frames()] == [11, 12]


async def test_nothing_queues_before_the_subscription_is_activated() -> None:
    """While the stream is being authorised, whatever the hub offers is at most where the replay will end."""
    queue = Subscription(StreamKind.USER, user_id=uuid4(), topic_id=None, capacity=1)

    assert queue.offer(Frame(1, b"a"))
    assert queue.offer(Frame(2, b"b"))
    queue.skip_through(2)
    queue.offer(Frame(3, b"c"))

    assert queue.abort_reason is None
    assert [frame.event_id for frame in await queue.next_frames()] == [3]


async def test_an_abort_cuts_a_write_that_stalls() -> None:
    queue = subscription()
    stalled = asyncio.Event()

    async def write(_: bytes) -> None:
        await stalled.wait()  # a client that stopped reading: this never returns by itself

    writing = asyncio.create_task(queue.unless_aborted(write, b"frame"))
    await asyncio.sleep(0)
    queue.abort("overflow")

    await asyncio.wait_for(writing, timeout=5)
    assert not writing.cancelled()


async def test_a_cancellation_from_elsewhere_still_propagates() -> None:
    queue = subscription()

    async def write(_: bytes) -> None:
        await asyncio.Event().wait()

    writing = asyncio.create_task(queue.unless_aborted(write, b"frame"))
    await asyncio.sleep(0)
    writing.cancel()

    with pytest.raises(asyncio.CancelledError):
        await writing


async def test_an_aborted_subscription_writes_nothing() -> None:
    queue = subscription()
    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    queue.abort("the client went away")
    await queue.unless_aborted(write, b"frame")

    assert written == []
