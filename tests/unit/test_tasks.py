"""Stopping a background task must not swallow the cancellation of whoever stops it."""

from __future__ import annotations

import asyncio

import pytest

from threadline.tasks import cancel_and_wait


async def test_the_task_is_cancelled_and_waited_for() -> None:
    cleaned_up = asyncio.Event()

    async def background() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)
            cleaned_up.set()

    task = asyncio.create_task(background())
    await asyncio.sleep(0)

    await cancel_and_wait(task)

    assert task.cancelled()
    assert cleaned_up.is_set()


async def test_a_cancellation_of_the_caller_while_it_waits_is_passed_on() -> None:
    stopping = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopping.set()
            await asyncio.sleep(0.1)  # cleaning up, while the caller is cancelled in turn
            raise

    task = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    closing = asyncio.create_task(cancel_and_wait(task))
    await stopping.wait()

    closing.cancel()

    with pytest.raises(asyncio.CancelledError):
        await closing
    assert closing.cancelled()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_caller_cleaning_up_after_its_own_cancellation_stops_every_task() -> None:
    """An app's shutdown runs in a ``finally`` that may follow a cancellation: each close must still run."""
    tasks = [asyncio.create_task(asyncio.Event().wait()) for _ in range(2)]
    stopped: list[int] = []

    async def owner() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            for number, task in enumerate(tasks):
                await cancel_and_wait(task)
                stopped.append(number)

    running = asyncio.create_task(owner())
    await asyncio.sleep(0)
    running.cancel()

    with pytest.raises(asyncio.CancelledError):
        await running
    assert stopped == [0, 1]
    assert all(task.cancelled() for task in tasks)
