"""Stopping background tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)


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


class Outage:
    """For a task repeated on a timer: its first failure is logged in full, then nothing until it works
    again (an outage fails every attempt)."""

    def __init__(self, doing: str, retry_seconds: float, *, log: logging.Logger = logger) -> None:
        self._log = log
        self._doing = doing
        self._retry_seconds = retry_seconds
        self._since: float | None = None

    def failed(self) -> None:
        if self._since is None:
            self._log.exception("%s failed; retrying every %.1f s", self._doing, self._retry_seconds)
            self._since = time.monotonic()

    def over(self) -> None:
        if self._since is not None:
            self._log.warning("%s works again, after %.0f s", self._doing, time.monotonic() - self._since)
            self._since = None


async def repeat_every(
    seconds: float, action: Callable[[], Awaitable[None]], *, doing: str, log: logging.Logger
) -> None:
    """Run ``action`` every ``seconds``, for ever; an outage that fails it is logged once (``Outage``)."""
    outage = Outage(doing, seconds, log=log)
    while True:
        await asyncio.sleep(seconds)
        try:
            await action()
        except Exception:
            outage.failed()
            continue
        outage.over()
