"""Stopping background tasks."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has finished, without swallowing a cancellation of the caller.

    ``suppress(CancelledError)`` around the wait would also absorb the caller's own cancellation, arriving
    while it waits, and the caller would carry on as if it had not been cancelled.
    """
    current = asyncio.current_task()
    # A caller already cleaning up after a cancellation (in a ``finally``) is not cancelled again here.
    cancelled_before = current.cancelling() if current is not None else 0
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if current is not None and current.cancelling() > cancelled_before:
            raise
