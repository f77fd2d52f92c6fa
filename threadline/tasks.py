"""Stopping background tasks, and logging the outages that fail them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from threadline.errors import Unavailable

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
    """For a task repeated on a timer: its first failure is logged, then nothing until it works again (an
    outage fails every attempt).

    A service that cannot be reached (``Unavailable``) is an expected state, logged as one warning without a
    traceback; any other error is logged in full, since it is a bug or a broken deployment.
    """

    def __init__(self, doing: str, retry_seconds: float, *, log: logging.Logger = logger) -> None:
        self._log = log
        self._doing = doing
        self._retry_seconds = retry_seconds
        self._since: float | None = None

    def failed(self, error: Exception) -> None:
        if self._since is not None:
            return
        self._since = time.monotonic()
        if isinstance(error, Unavailable):
            self._log.warning(
                "%s failed: %s; retrying every %g s", self._doing, _reason(error), self._retry_seconds
            )
            return
        self._log.error("%s failed; retrying every %g s", self._doing, self._retry_seconds, exc_info=error)

    def over(self) -> None:
        if self._since is not None:
            self._log.warning("%s works again, after %.0f s", self._doing, time.monotonic() - self._since)
            self._since = None


def _reason(error: Unavailable) -> str:
    """What was unavailable and, if known, why: the error it was raised from."""
    cause = error.__cause__
    return f"{error.detail} ({cause!r})" if cause is not None else error.detail


async def repeat_every(
    seconds: float, action: Callable[[], Awaitable[object]], *, doing: str, log: logging.Logger
) -> None:
    """Run ``action`` every ``seconds``, for ever; an outage that fails it is logged once (``Outage``)."""
    outage = Outage(doing, seconds, log=log)
    while True:
        await asyncio.sleep(seconds)
        try:
            await action()
        except Exception as error:
            outage.failed(error)
            continue
        outage.over()
