"""Posting messages by group commit: the posts that arrive together share one transaction.

On SQLite one transaction commits at a time, and a post's cost is mostly the fixed cost of its
transaction (begin, permission check, ``seq`` counter, workspace touch, event, commit) rather than its
rows. Posts that arrive while a transaction is being written wait here and go into the next one
together: each is still checked against its own caller's role, gets its own ``seq`` and its own event,
and commits atomically with them. A post refused by its check fails alone. If the shared transaction
fails (other than by the database being unavailable), each of its posts is written again in a transaction
of its own, so none fails for another's sake.

On PostgreSQL other transactions hold locks too, some for long: a conversation being deleted, another
process's batch, a poster whose removal is under way. The shared transaction does not wait for those: it
takes its posters' holds and its conversations only if it can have them at once, and sets the other posts
aside, each conversation's for one transaction of its own that waits. (It still waits, briefly, for what
is taken last and held only for short updates: workspace rows and the event log's lock.) A conversation
held up for long so holds up only the posts to it, and only they answer 503 if the wait outlasts the
database timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import NotFound, ThreadlineError, Unavailable
from threadline.events.bus import EventBus
from threadline.models.domain.conversation import Message, NewMessage
from threadline.models.domain.event import EventType
from threadline.models.domain.reply import MessageStatus
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import conversation_roles
from threadline.services.events import log_activities, message_event
from threadline.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

MAX_BATCH = 128
"""Posts written in one transaction at most: enough to share its cost, few enough to keep it short."""

PATIENT_WRITERS = 4
"""Conversations set aside that are written at once, at most, each by transactions that wait for its locks:
the connection pool is left to requests."""

PATIENT_TURN_SECONDS = 0.5
"""How long a conversation set aside keeps its writer while posts to it keep coming (it finishes the batch
it is writing): the posts of a conversation busy for long are written together, and yet a writer is free
again within this and the database timeout, for the next conversation set aside."""


async def store_messages(
    uow: UnitOfWork, posts: Sequence[NewMessage], *, locked: bool = False
) -> list[Message | None]:
    """Store posts under their conversations' next ``seq`` values, in the order given.

    Each answer is the stored message, or ``None`` where the post's conversation is gone. Their
    ``created_at`` is read once the conversations are locked (here, unless ``locked`` already), so it
    follows ``seq``: a poster that waited for another's lock (in another process, perhaps) stores a later
    time than the one it waited for.
    """
    if not posts:
        return []
    counts = Counter(post.conversation_id for post in posts)
    if not locked:
        await uow.conversations.lock_for_writing(counts)
    now = datetime.now(UTC)
    reserved = await uow.conversations.reserve_seqs(counts, now=now)
    seqs = {conversation_id: iter(seq_range) for conversation_id, seq_range in reserved.items()}
    stored = [
        Message(
            **post.model_dump(),
            id=uuid4(),
            seq=next(seqs[post.conversation_id]),
            created_at=now,
            updated_at=now,
        )
        if post.conversation_id in seqs
        else None
        for post in posts
    ]
    await uow.messages.add_all([message for message in stored if message is not None])
    await uow.replies.start_all(
        [message for message in stored if message is not None and message.status is MessageStatus.STREAMING]
    )
    return stored


@dataclass(eq=False)
class _Pending:
    actor: Actor
    post: NewMessage
    answer: asyncio.Future[Message] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, outcome: Message | BaseException) -> None:
        if self.answer.done():  # its caller went away; the post stands (or not) all the same
            return
        if isinstance(outcome, Message):
            self.answer.set_result(outcome)
        else:
            self.answer.set_exception(outcome)


class MessageAppender:
    """One per process: queues posts and writes them, a batch per transaction.

    One task writes the shared batches. On PostgreSQL, each conversation set aside (see the module) has a
    task of its own, which later posts to it queue behind, for a turn; then what is left goes back to the
    shared queue, first in line. ``start`` it before the first post and ``close`` it at shutdown.
    """

    def __init__(
        self,
        new_unit_of_work: Callable[[], UnitOfWork],
        bus: EventBus,
        *,
        max_batch: int = MAX_BATCH,
        patient_writers: int = PATIENT_WRITERS,
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._bus = bus
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._aside: dict[UUID, list[_Pending]] = {}
        self._patient_writers: set[asyncio.Task[None]] = set()
        self._patience = asyncio.Semaphore(patient_writers)

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_forever(), name="threadline-message-appender")

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await cancel_and_wait(writer)
        while self._patient_writers:  # each hands what it still holds back to the queue as it ends
            await cancel_and_wait(next(iter(self._patient_writers)))
        queued = [*self._queue, *(pending for aside in self._aside.values() for pending in aside)]
        self._queue.clear()
        self._aside.clear()
        for pending in queued:
            pending.settle(Unavailable("The server is shutting down"))

    async def post(self, actor: Actor, post: NewMessage) -> Message:
        """Store the message (its author must be an editor or owner) and announce its event."""
        if self._writer is None:
            raise Unavailable("The server is not accepting messages")
        pending = _Pending(actor, post)
        aside = self._aside.get(post.conversation_id)
        if aside is not None:
            aside.append(pending)
        else:
            self._queue.append(pending)
            self._wake.set()
        return await pending.answer

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._write_batch(self._take_batch(self._queue), self._queue, patient=False)

    async def _write_patiently(self, conversation_id: UUID, aside: list[_Pending]) -> None:
        """Write the posts set aside for the conversation, waiting for its locks, until none is left or its
        turn is over; then hand the rest back to the shared queue, first in line, where they are tried
        again."""
        try:
            async with self._patience:
                turn_ends = asyncio.get_running_loop().time() + PATIENT_TURN_SECONDS
                while aside:
                    await self._write_batch(self._take_batch(aside), aside, patient=True)
                    if asyncio.get_running_loop().time() >= turn_ends:
                        break
        finally:
            del self._aside[conversation_id]
            self._queue[:0] = aside
            self._wake.set()

    def _take_batch(self, queue: list[_Pending]) -> list[_Pending]:
        """The next batch off the front of ``queue``."""
        batch = queue[: self._max_batch]
        del queue[: self._max_batch]
        return batch

    async def _write_batch(self, batch: list[_Pending], behind: list[_Pending], *, patient: bool) -> None:
        """``_write`` the batch (``behind`` it: the posts queued after it); answer its posts come what may."""
        try:
            await self._write(batch, behind, patient=patient)
        except BaseException as error:
            # Cancelled at shutdown, or a bug: no caller may be left waiting either way.
            for pending in batch:
                pending.settle(Unavailable("The message could not be stored"))
            if not isinstance(error, Exception):
                raise
            logger.exception("writing a batch of messages failed")

    async def _write(self, batch: list[_Pending], behind: list[_Pending], *, patient: bool) -> None:
        batch = [pending for pending in batch if not pending.answer.done()]
        if not batch:
            return
        try:
            last_event_id, busy = await self._commit(batch, patient=patient)
        except Exception as error:
            if isinstance(error, Unavailable):
                # The database cannot be reached (or did not answer in time): every post queued behind this
                # batch would wait out the same timeout in its turn, batch after batch, so none waits longer.
                # Deadlocks, the other cause of Unavailable, are designed out of the appender's transactions
                # (conversation rows locked in id order, the event log's lock last); were one to happen, the
                # queued posts answer 503 with the batch and their clients retry.
                batch += behind
                behind.clear()
            elif len(batch) > 1:
                for pending in batch:
                    await self._write([pending], behind, patient=patient)  # skipped if answered already
                return
            for pending in batch:
                pending.settle(error)
            return
        self._set_aside(busy)
        if last_event_id is not None:
            await self._bus.ring(last_event_id)

    def _set_aside(self, busy: list[_Pending]) -> None:
        """Queue each post for its conversation's own transaction, starting one where none is waiting."""
        for pending in busy:
            conversation_id = pending.post.conversation_id
            aside = self._aside.get(conversation_id)
            if aside is None:
                aside = self._aside[conversation_id] = []
                writer = asyncio.create_task(
                    self._write_patiently(conversation_id, aside), name="threadline-message-appender-aside"
                )
                self._patient_writers.add(writer)
                writer.add_done_callback(self._patient_writers.discard)
            aside.append(pending)

    async def _commit(self, batch: list[_Pending], *, patient: bool) -> tuple[int | None, list[_Pending]]:
        """Write the batch in one transaction and answer its posts: the last event id written, and the posts
        left unwritten, in batch order, to set aside. Unless ``patient`` (which waits for every lock
        instead), a conversation is left out whole if another transaction holds it, or holds one of its
        posters (or it is gone).

        The answers go out as soon as the commit has gone through: whatever fails after it (closing the
        connection, a cancellation at shutdown) must not answer a stored post with an error, which its
        client would retry.
        """
        outcomes: list[tuple[_Pending, Message | ThreadlineError]] = []
        async with self._new_unit_of_work() as uow:
            # Every poster's memberships held at once, first (see ``hold_members``); then one permission
            # query per poster, however many conversations they post to.
            posters: dict[UUID, tuple[Actor, set[UUID]]] = {}
            for pending in batch:
                posters.setdefault(pending.actor.user_id, (pending.actor, set()))[1].add(
                    pending.post.conversation_id
                )
            if patient:
                await uow.access.hold_members(posters)
                held = set(posters)
            else:
                held = await uow.access.try_hold_members(posters)
            busy_conversations = {
                pending.post.conversation_id for pending in batch if pending.actor.user_id not in held
            }
            roles = {
                user_id: await conversation_roles(uow, actor, conversation_ids, Role.EDITOR)
                for user_id, (actor, conversation_ids) in posters.items()
                if user_id in held
            }
            accepted: list[tuple[_Pending, UUID]] = []
            for pending in batch:
                if pending.post.conversation_id in busy_conversations:
                    continue
                access = roles[pending.actor.user_id][pending.post.conversation_id]
                if isinstance(access, ThreadlineError):
                    outcomes.append((pending, access))
                else:
                    accepted.append((pending, access[0]))
            if not patient:
                wanted = {pending.post.conversation_id for pending, _ in accepted}
                busy_conversations |= wanted - await uow.conversations.try_lock_for_writing(wanted)
                accepted = [
                    (pending, ws)
                    for pending, ws in accepted
                    if pending.post.conversation_id not in busy_conversations
                ]
            refused = {pending for pending, _ in outcomes}
            busy = [
                pending
                for pending in batch
                if pending.post.conversation_id in busy_conversations and pending not in refused
            ]
            stored = await store_messages(uow, [pending.post for pending, _ in accepted], locked=not patient)
            events = []
            for (pending, workspace_id), message in zip(accepted, stored, strict=True):
                if message is None:
                    outcomes.append((pending, NotFound("Conversation not found")))
                    continue
                outcomes.append((pending, message))
                events.append(
                    message_event(
                        EventType.MESSAGE_CREATED, message, workspace_id=workspace_id, actor=pending.actor
                    )
                )
            # At the messages' own time, which their conversations' last_active_at took: a list walk reads
            # a conversation's activity back from its events.
            written_at = max((message.created_at for message in stored if message is not None), default=None)
            logged = await log_activities(uow, events, now=written_at) if written_at else []
            await uow.commit()
            for pending, outcome in outcomes:
                pending.settle(outcome)
        return (logged[-1].id if logged else None), busy
