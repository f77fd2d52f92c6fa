"""Appending deltas to streaming replies, by group commit: the deltas that arrive together share one
transaction, and each reply's deltas in it become one chunk and one ``message.delta`` event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.errors import Forbidden, NotFound, ThreadlineError
from threadline.models.domain.event import EventType, NewEvent
from threadline.models.domain.reply import Delta, ReplyConflict, StreamState, place_delta
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import conversation_roles
from threadline.services.group_commit import UNOBSERVED, Batch, BatchObserver, GroupCommit

MAX_BATCH = 256
"""Deltas written in one transaction at most."""


@dataclass(frozen=True)
class DeltaPost:
    """A delta and who sent it: what the writer queues."""

    actor: Actor
    delta: Delta


@dataclass
class _Growth:
    """What one transaction appends to one reply: its deltas' texts, joined."""

    state: StreamState
    workspace_id: UUID
    actor: Actor
    texts: list[str] = field(default_factory=list)
    length: int = 0
    stored: str | None = None
    """The reply's text as stored before this transaction, read only to recognise a repeated delta."""

    def __post_init__(self) -> None:
        self.length = self.state.length


class DeltaWriter(GroupCommit[DeltaPost, int]):
    """One per process: each delta's answer is the reply's stored length after it."""

    def __init__(self, new_unit_of_work: UnitOfWorkFactory, *, observer: BatchObserver = UNOBSERVED) -> None:
        super().__init__(self._write, name="threadline-delta-writer", max_batch=MAX_BATCH, observer=observer)
        self._new_unit_of_work = new_unit_of_work

    async def _write(self, batch: Batch[DeltaPost, int]) -> None:
        async with self._new_unit_of_work() as uow:
            answers = await write_deltas(uow, batch.requests)
            await uow.commit()
            batch.answer(answers)


async def write_deltas(uow: UnitOfWork, posts: Sequence[DeltaPost]) -> list[int | ThreadlineError]:
    """Append the deltas that fit, in order, in ``uow``'s transaction (the caller commits).

    Answers each delta with the stored length after it, or the error that refuses it alone.
    """
    access = await _check_senders(uow, posts)
    states = await uow.replies.lock_streams({post.delta.message_id for post in posts})
    growths: dict[UUID, _Growth] = {}
    answers: list[int | ThreadlineError] = []
    for post in posts:
        try:
            growth = await _growth_for(uow, post, access, states, growths)
            answers.append(await _place(uow, growth, post.delta))
        except ThreadlineError as refused:
            answers.append(refused)
    grown = [growth for growth in growths.values() if growth.texts]
    if not grown:
        return answers
    now = datetime.now(UTC)
    await uow.replies.grow(
        {growth.state.message_id: growth.length for growth in grown},
        [(growth.state.message_id, growth.state.length, "".join(growth.texts)) for growth in grown],
        now=now,
    )
    await uow.events.append_all([_delta_event(growth) for growth in grown], now=now)
    return answers


async def _check_senders(
    uow: UnitOfWork, posts: Sequence[DeltaPost]
) -> dict[UUID, dict[UUID, tuple[UUID, Role] | ThreadlineError]]:
    """Each sender's role in the conversations they append to, their memberships held until commit."""
    senders: dict[UUID, tuple[Actor, set[UUID]]] = {}
    for post in posts:
        senders.setdefault(post.actor.user_id, (post.actor, set()))[1].add(post.delta.conversation_id)
    await uow.access.hold_members(senders)
    return {
        user_id: await conversation_roles(uow, actor, conversation_ids, Role.EDITOR)
        for user_id, (actor, conversation_ids) in senders.items()
    }


async def _growth_for(
    uow: UnitOfWork,
    post: DeltaPost,
    access: dict[UUID, dict[UUID, tuple[UUID, Role] | ThreadlineError]],
    states: dict[UUID, StreamState],
    growths: dict[UUID, _Growth],
) -> _Growth:
    """The growth of the reply the delta is for, once its sender may append to it."""
    delta = post.delta
    role = access[post.actor.user_id][delta.conversation_id]
    if isinstance(role, ThreadlineError):
        raise role
    state = states.get(delta.message_id)
    if state is None or state.conversation_id != delta.conversation_id:
        raise await _not_streaming(uow, delta)
    if state.author_id != post.actor.user_id:
        raise Forbidden("Only the message's author may append to it")
    growth = growths.get(delta.message_id)
    if growth is None:
        growth = growths[delta.message_id] = _Growth(state=state, workspace_id=role[0], actor=post.actor)
    return growth


async def _not_streaming(uow: UnitOfWork, delta: Delta) -> ThreadlineError:
    """Why a delta's reply has no stream: it is gone, or it has ended."""
    message = await uow.messages.get(delta.conversation_id, delta.message_id)
    if message is None:
        return NotFound("Message not found")
    return ReplyConflict(
        f"The message is not streaming: it is {message.status.value}",
        status=message.status,
        length=len(message.content),
    )


async def _place(uow: UnitOfWork, growth: _Growth, delta: Delta) -> int:
    """Append the delta to the growth, unless it repeats stored text; the reply's length after it."""
    already = None
    if delta.offset < growth.length:
        if growth.stored is None:
            growth.stored = await uow.replies.text(growth.state.message_id)
        so_far = growth.stored + "".join(growth.texts)
        already = so_far[delta.offset : delta.offset + len(delta.text)]
    if place_delta(growth.length, delta, already):
        growth.texts.append(delta.text)
        growth.length += len(delta.text)
    return growth.length


def _delta_event(growth: _Growth) -> NewEvent:
    state = growth.state
    return NewEvent(
        type=EventType.MESSAGE_DELTA,
        workspace_id=growth.workspace_id,
        conversation_id=state.conversation_id,
        actor_id=growth.actor.user_id,
        data={
            "message_id": str(state.message_id),
            "conversation_id": str(state.conversation_id),
            "seq": state.seq,
            "offset": state.length,
            "text": "".join(growth.texts),
        },
    )
