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
