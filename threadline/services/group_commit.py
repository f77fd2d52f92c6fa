"""Group commit: requests that arrive while a transaction is being written share the next one.

On SQLite one transaction commits at a time, and a small write's cost is mostly its transaction's; on
PostgreSQL each costs round trips and a commit. A ``GroupCommit`` queues the requests and hands them, a
batch at a time, to its ``write`` function, which stores them in one transaction and answers each one:
a result, the domain error that refuses it alone, or ``SET_ASIDE``. The queue and its words (hold, lock,
set aside) are explained in ``docs/architecture.md``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, Protocol, TypeVar

from threadline.errors import ThreadlineError, Unavailable
from threadline.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

RequestT = TypeVar("RequestT")
AnswerT = TypeVar("AnswerT")


class SetAside:
    """The type of ``SET_ASIDE``."""

    def __repr__(self) -> str:
        return "SET_ASIDE"


SET_ASIDE: Final = SetAside()
"""The answer for a request whose locks another transaction holds: it is written later, in a transaction
of its lane's that waits for them."""

WAITING_WRITERS = 4
"""Lanes written at once, at most, each by transactions that wait for their locks: the connection pool is
left to requests."""

TURN_SECONDS = 0.5
"""How long a lane keeps its writer while requests to it keep coming (it finishes the batch it is writing):
the requests of a lane held up for long are written together, and yet a writer is free again within this
and the database timeout, for the next lane."""


class BatchObserver(Protocol):
    """Told of each transaction a ``GroupCommit`` writes, for its metrics: called once a batch, never per
    request, and must not block."""

    def committed(self, *, answered: int, set_aside: int, seconds: float) -> None:
        """A batch committed, answering ``answered`` requests and setting ``set_aside`` aside."""

    def failed(self, *, unavailable: bool) -> None:
        """A batch's transaction failed: the database was unavailable, or it is written again alone."""


class _Unobserved:
    def committed(self, *, answered: int, set_aside: int, seconds: float) -> None:
        pass

    def failed(self, *, unavailable: bool) -> None:
        pass


UNOBSERVED: Final[BatchObserver] = _Unobserved()


@dataclass(eq=False)
class _Queued(Generic[RequestT, AnswerT]):
    request: RequestT
    answer: asyncio.Future[AnswerT] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, outcome: AnswerT | BaseException) -> None:
        if self.answer.done():  # its caller went away, or it is answered already
            return
        if isinstance(outcome, BaseException):
            self.answer.set_exception(outcome)
        else:
            self.answer.set_result(outcome)


class Batch(Generic[RequestT, AnswerT]):
    """The requests of one transaction. Its writer calls ``answer`` as soon as the commit has gone through:
    whatever fails after it (closing the connection, a cancellation at shutdown) must not answer a stored
    request with an error, which its client would retry."""

    def __init__(
        self,
        queued: Sequence[_Queued[RequestT, AnswerT]],
        *,
        wait_for_locks: bool,
        observer: BatchObserver = UNOBSERVED,
    ) -> None:
        self._queued = queued
        self._observer = observer
        self._started = time.perf_counter()
        self.requests = [item.request for item in queued]
        self.wait_for_locks = wait_for_locks
        """Whether to wait for every lock, rather than set aside the requests whose locks are held."""
        self.set_aside: list[_Queued[RequestT, AnswerT]] = []
        self.answered = False

    def answer(self, answers: Sequence[AnswerT | ThreadlineError | SetAside]) -> None:
        """Answer the requests, one answer each, in order."""
        for queued, answer in zip(self._queued, answers, strict=True):
            if answer is SET_ASIDE:
                self.set_aside.append(queued)
            else:
                queued.settle(answer)  # type: ignore[arg-type]  # narrowed: not the sentinel
        self.answered = True
        # Now, before any caller resumes: a client that reads the metrics after its answer finds it counted.
        set_aside = len(self.set_aside)
        self._observer.committed(
            answered=len(self._queued) - set_aside,
            set_aside=set_aside,
            seconds=time.perf_counter() - self._started,
        )


WriteBatch = Callable[[Batch[RequestT, AnswerT]], Awaitable[None]]
"""Stores a batch in one transaction and answers it."""


class GroupCommit(Generic[RequestT, AnswerT]):
    """One per process and kind of write: ``start`` it before the first request, ``close`` it at shutdown.

    If a batch's transaction fails for another reason than the database being unavailable, each of its
    requests is written again alone, so none fails for another's sake. When the database is unavailable
    every request queued behind fails at once, rather than each waiting out the same timeout in turn.

    With ``lane_of``, a request set aside joins its lane (a conversation, say): one task writes the lane's
    requests, waiting for their locks, and later requests of that lane queue behind it, for a turn; then
    what is left goes back to the shared queue, first in line.

    ``observer`` hears of each transaction, committed or failed: the metrics of docs/operations.md.
    """

    def __init__(
        self,
        write: WriteBatch[RequestT, AnswerT],
        *,
        name: str,
        max_batch: int,
        lane_of: Callable[[RequestT], Hashable] | None = None,
        waiting_writers: int = WAITING_WRITERS,
        observer: BatchObserver = UNOBSERVED,
    ) -> None:
        self._write = write
        self._name = name
        self._observer = observer
        self._max_batch = max_batch
        self._lane_of = lane_of
        self._queue: list[_Queued[RequestT, AnswerT]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._lanes: dict[Hashable, list[_Queued[RequestT, AnswerT]]] = {}
        self._lane_writers: set[asyncio.Task[None]] = set()
        self._waiting_writers = asyncio.Semaphore(waiting_writers)

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_forever(), name=self._name)

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await cancel_and_wait(writer)
        while self._lane_writers:  # each hands what it still holds back to the queue as it ends
            await cancel_and_wait(next(iter(self._lane_writers)))
        queued, self._queue = self._queue, []
        for request in queued:
            request.settle(Unavailable("The server is shutting down"))

    def submit(self, request: RequestT) -> asyncio.Future[AnswerT]:
        """Queue the request for the next batch (of its lane, if one is being written); the future answers
        it once its batch is written."""
        if self._writer is None:
            raise Unavailable("The server is not accepting writes")
        queued = _Queued[RequestT, AnswerT](request)
        lane = self._lanes.get(self._lane_of(request)) if self._lane_of else None
        if lane is not None:
            lane.append(queued)
        else:
            self._queue.append(queued)
            self._wake.set()
        return queued.answer

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._write_answering(self._take_batch(self._queue), self._queue, wait_for_locks=False)

    async def _write_lane(self, key: Hashable, lane: list[_Queued[RequestT, AnswerT]]) -> None:
        """Write the lane's requests, waiting for their locks, until none is left or its turn is over; then
        hand the rest back to the shared queue, first in line."""
        try:
            async with self._waiting_writers:
                turn_ends = asyncio.get_running_loop().time() + TURN_SECONDS
                while lane:
                    await self._write_answering(self._take_batch(lane), lane, wait_for_locks=True)
                    if asyncio.get_running_loop().time() >= turn_ends:
                        break
        finally:
            del self._lanes[key]
            self._queue[:0] = lane
            self._wake.set()

    def _take_batch(self, queue: list[_Queued[RequestT, AnswerT]]) -> list[_Queued[RequestT, AnswerT]]:
        batch = queue[: self._max_batch]
        del queue[: self._max_batch]
        return batch

    async def _write_answering(
        self,
        batch: list[_Queued[RequestT, AnswerT]],
        behind: list[_Queued[RequestT, AnswerT]],
        *,
        wait_for_locks: bool,
    ) -> None:
        """Write the batch (``behind`` it: the requests queued after it) and answer every request in it,
        come what may."""
        try:
            await self._write_batch(batch, behind, wait_for_locks=wait_for_locks)
        except BaseException as error:
            # Cancelled at shutdown, or a bug: no caller may be left waiting either way.
            for queued in batch:
                queued.settle(Unavailable("The change could not be stored"))
            if not isinstance(error, Exception):
                raise
            logger.exception("writing a batch failed (%s)", self._name)

    async def _write_batch(
        self,
        batch: list[_Queued[RequestT, AnswerT]],
        behind: list[_Queued[RequestT, AnswerT]],
        *,
        wait_for_locks: bool,
    ) -> None:
        batch = [queued for queued in batch if not queued.answer.done()]
        if not batch:
            return
        written = Batch(batch, wait_for_locks=wait_for_locks, observer=self._observer)
        try:
            await self._write(written)
        except Unavailable as unavailable:
            if written.answered:
                raise
            self._observer.failed(unavailable=True)
            # Every request queued behind would wait out the same timeout in its turn, so none waits.
            for queued in [*batch, *behind]:
                queued.settle(unavailable)
            behind.clear()
            return
        except Exception as error:
            if written.answered:
                raise
            self._observer.failed(unavailable=False)
            if len(batch) == 1:
                batch[0].settle(error)  # its own fault: a refusal, or a request that cannot be stored
                return
            for queued in batch:
                await self._write_batch([queued], behind, wait_for_locks=wait_for_locks)
            return
        if not written.answered:
            raise RuntimeError(f"the writer of {self._name} answered no batch")
        self._set_aside(written.set_aside)

    def _set_aside(self, queued: list[_Queued[RequestT, AnswerT]]) -> None:
        """Queue each request in its lane, starting a writer for a lane that has none."""
        assert self._lane_of is not None or not queued, "set aside by a writer without lanes"
        for item in queued:
            key = self._lane_of(item.request)  # type: ignore[misc]  # checked above
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = []
                writer = asyncio.create_task(self._write_lane(key, lane), name=f"{self._name}-lane")
                self._lane_writers.add(writer)
                writer.add_done_callback(self._lane_writers.discard)
            lane.append(item)
