"""Group commit: requests that arrive while a transaction is being written share the next one.

On SQLite one transaction commits at a time, and a small write's cost is mostly its transaction's; on
PostgreSQL each costs round trips and a commit. A ``GroupCommit`` queues the requests and hands them, a
batch at a time, to its ``write`` function, which stores them in one transaction and answers each one:
a result, or the domain error that refuses it alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from threadline.errors import ThreadlineError, Unavailable
from threadline.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

RequestT = TypeVar("RequestT")
AnswerT = TypeVar("AnswerT")

WriteBatch = Callable[[Sequence[RequestT]], Awaitable[Sequence[AnswerT | ThreadlineError]]]
"""Stores a batch in one transaction; one answer per request, in order."""


@dataclass(eq=False)
class _Queued(Generic[RequestT, AnswerT]):
    request: RequestT
    answer: asyncio.Future[AnswerT] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, outcome: AnswerT | BaseException) -> None:
        if self.answer.done():  # its caller went away; what was written stands all the same
            return
        if isinstance(outcome, BaseException):
            self.answer.set_exception(outcome)
        else:
            self.answer.set_result(outcome)


class GroupCommit(Generic[RequestT, AnswerT]):
    """One per process and kind of write: ``start`` it before the first request, ``close`` it at shutdown.

    If a batch's transaction fails for another reason than the database being unavailable, each of its
    requests is written again alone, so none fails for another's sake. When the database is unavailable
    every request queued fails at once, rather than each waiting out the same timeout in turn.
    """

    def __init__(self, write: WriteBatch[RequestT, AnswerT], *, name: str, max_batch: int) -> None:
        self._write = write
        self._name = name
        self._max_batch = max_batch
        self._queue: list[_Queued[RequestT, AnswerT]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_forever(), name=self._name)

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await cancel_and_wait(writer)
        queued, self._queue = self._queue, []
        for request in queued:
            request.settle(Unavailable("The server is shutting down"))

    def submit(self, request: RequestT) -> asyncio.Future[AnswerT]:
        """Queue the request for the next batch; the future answers it once its batch is written."""
        if self._writer is None:
            raise Unavailable("The server is not accepting writes")
        queued = _Queued[RequestT, AnswerT](request)
        self._queue.append(queued)
        self._wake.set()
        return queued.answer

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._write_answering(batch)

    async def _write_answering(self, batch: list[_Queued[RequestT, AnswerT]]) -> None:
        """Write the batch and answer every request in it, come what may."""
        try:
            await self._write_batch(batch)
        except BaseException as error:
            # Cancelled at shutdown, or a bug: no caller may be left waiting either way.
            for queued in batch:
                queued.settle(Unavailable("The change could not be stored"))
            if not isinstance(error, Exception):
                raise
            logger.exception("writing a batch failed (%s)", self._name)

    async def _write_batch(self, batch: list[_Queued[RequestT, AnswerT]]) -> None:
        batch = [queued for queued in batch if not queued.answer.done()]
        if not batch:
            return
        try:
            answers = await self._write([queued.request for queued in batch])
        except Unavailable as unavailable:
            batch += self._queue
            self._queue.clear()
            for queued in batch:
                queued.settle(unavailable)
            return
        except Exception as error:
            if len(batch) > 1:
                for queued in batch:
                    await self._write_batch([queued])
            elif isinstance(error, ThreadlineError):
                batch[0].settle(error)
            else:
                raise
            return
        for queued, answer in zip(batch, answers, strict=True):
            queued.settle(answer)
