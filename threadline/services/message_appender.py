"""Posting messages by group commit: the posts that arrive together share one transaction.

On SQLite one transaction commits at a time, and a post's cost is mostly the fixed cost of its transaction
(begin, permission check, ``seq`` counter, workspace touch, event, commit) rather than its rows. The queue
is a ``GroupCommit`` with a lane per conversation; the transaction is ``write_batch``. Why, and how a
conversation held up on PostgreSQL holds up only the posts to it: ``docs/architecture.md``.
"""

from __future__ import annotations

from threadline.database.unit_of_work import UnitOfWorkFactory
from threadline.models.domain.conversation import Message, NewMessage
from threadline.models.domain.user import Actor
from threadline.services.group_commit import UNOBSERVED, WAITING_WRITERS, Batch, BatchObserver, GroupCommit
from threadline.services.message_batches import MessagePost, write_batch

MAX_BATCH = 128
"""Posts written in one transaction at most: enough to share its cost, few enough to keep it short."""


class MessageAppender:
    """One per process: ``start`` it before the first post and ``close`` it at shutdown."""

    def __init__(
        self,
        new_unit_of_work: UnitOfWorkFactory,
        *,
        max_batch: int = MAX_BATCH,
        waiting_writers: int = WAITING_WRITERS,
        observer: BatchObserver = UNOBSERVED,
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._queue = GroupCommit[MessagePost, Message](
            self._write,
            name="threadline-message-appender",
            max_batch=max_batch,
            lane_of=lambda post: post.conversation_id,
            waiting_writers=waiting_writers,
            observer=observer,
        )

    def start(self) -> None:
        self._queue.start()

    async def close(self) -> None:
        await self._queue.close()

    async def post(self, actor: Actor, message: NewMessage) -> Message:
        """Store the message (its author must be an editor or owner) and log its event."""
        return await self._queue.submit(MessagePost(actor, message))

    async def _write(self, batch: Batch[MessagePost, Message]) -> None:
        async with self._new_unit_of_work() as uow:
            written = await write_batch(uow, batch.requests, wait_for_locks=batch.wait_for_locks)
            await uow.commit()
            batch.answer([written.answer(post) for post in batch.requests])
