"""Replies whose author went silent: failed by the server, so that none streams forever."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from threadline.database.unit_of_work import UnitOfWorkFactory
from threadline.services.replies import fail_if_idle
from threadline.tasks import cancel_and_wait, repeat_every

logger = logging.getLogger(__name__)

SWEEP_BATCH = 100
"""Idle replies looked up at once; each is failed in a transaction of its own."""


class IdleReplySweeper:
    """A background task of the app's lifespan: every ``interval_seconds``, fails the replies that had no
    delta for ``idle_timeout``. Every process runs one; each reply is failed once, by whichever gets it."""

    def __init__(
        self,
        new_unit_of_work: UnitOfWorkFactory,
        *,
        idle_timeout: timedelta,
        interval_seconds: float,
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._idle_timeout = idle_timeout
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="idle-reply-sweeper")

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def sweep(self) -> int:
        """Fail every reply idle for longer than the timeout now; how many this process failed."""
        before = datetime.now(UTC) - self._idle_timeout
        async with self._new_unit_of_work() as uow:
            idle = await uow.replies.idle_since(before, limit=SWEEP_BATCH)
        failed = 0
        for message_id, conversation_id in idle:
            async with self._new_unit_of_work() as uow:
                if await fail_if_idle(uow, conversation_id, message_id, before=before):
                    failed += 1
                await uow.commit()
        if failed:
            logger.info("failed %d replies idle for %s", failed, self._idle_timeout)
        return failed

    async def _run(self) -> None:
        await repeat_every(self._interval, self.sweep, doing="failing idle replies", log=logger)
