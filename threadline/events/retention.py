"""Retention: events are kept for ``event_retention_days``, idempotency keys for a day, login failures for
their throttling window and sign-ins until they expire, then pruned."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.tasks import Outage, cancel_and_wait

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_RETENTION = timedelta(hours=24)
PRUNE_BATCH = 1000
"""Rows deleted per transaction, so pruning a large backlog never holds the database (or, on SQLite, the
event loop) for long."""


class RetentionPruner:
    """A background task of the app's lifespan: prunes once at start, then every ``interval_seconds``.

    Every process may run one; deleting what another process already deleted costs nothing.
    """

    def __init__(
        self,
        database: Database,
        *,
        event_retention: timedelta,
        delta_retention: timedelta,
        login_window: timedelta,
        interval_seconds: float,
    ) -> None:
        self._database = database
        self._event_retention = event_retention
        self._delta_retention = delta_retention
        self._login_window = login_window
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-pruner")

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def prune(self) -> None:
        now = datetime.now(UTC)
        events = keys = failures = sign_ins = 0
        while True:
            async with UnitOfWork(self._database) as uow:
                pruned_events = await uow.events.prune(
                    older_than=now - self._event_retention, limit=PRUNE_BATCH
                ) + await uow.events.prune_deltas(older_than=now - self._delta_retention, limit=PRUNE_BATCH)
                pruned_keys = await uow.idempotency.prune(
                    older_than=now - IDEMPOTENCY_KEY_RETENTION, limit=PRUNE_BATCH
                )
                pruned_failures = await uow.login_failures.prune(
                    older_than=now - self._login_window, limit=PRUNE_BATCH
                )
                pruned_sign_ins = await uow.sign_ins.prune(now=now, limit=PRUNE_BATCH)
                await uow.commit()
            events, keys, failures = events + pruned_events, keys + pruned_keys, failures + pruned_failures
            sign_ins += pruned_sign_ins
            if max(pruned_events, pruned_keys, pruned_failures, pruned_sign_ins) < PRUNE_BATCH:
                break
            await asyncio.sleep(0)  # let requests waiting for the database in between
        if events or keys or failures or sign_ins:
            logger.info(
                "pruned %d events, %d idempotency keys, %d login failures and %d expired sign-ins",
                *(events, keys, failures, sign_ins),
            )

    async def _run(self) -> None:
        outage = Outage("pruning", self._interval, log=logger)
        while True:
            try:
                await self.prune()
            except Exception as error:
                outage.failed(error)
            else:
                outage.over()
            await asyncio.sleep(self._interval)
