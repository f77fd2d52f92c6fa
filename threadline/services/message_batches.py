"""Writing a batch of posts in one transaction: check the posters, lock the conversations, store and log.

Each post is checked against its own poster's role, gets its own ``seq`` and its own event, and a post
refused by its check fails alone. Without ``wait_for_locks`` (the shared batch on PostgreSQL) a
conversation is set aside whole when another transaction holds it or one of its posters: its posts are
written later, in order, by a transaction that waits (``docs/architecture.md``, "Group commit").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import NotFound, ThreadlineError
from threadline.models.domain.conversation import Message, NewMessage
from threadline.models.domain.event import EventType
from threadline.models.domain.reply import MessageStatus
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import conversation_roles
from threadline.services.events import log_activities, message_event
from threadline.services.group_commit import SET_ASIDE, SetAside


@dataclass(frozen=True, eq=False)
class MessagePost:
    """A message to post and who posts it."""

    actor: Actor
    message: NewMessage

    @property
    def conversation_id(self) -> UUID:
        return self.message.conversation_id


@dataclass
class WrittenBatch:
    """What one transaction made of its posts: each was stored, refused, or set aside."""

    stored: dict[MessagePost, Message] = field(default_factory=dict)
    refused: dict[MessagePost, ThreadlineError] = field(default_factory=dict)
    set_aside: list[MessagePost] = field(default_factory=list)

    def answer(self, post: MessagePost) -> Message | ThreadlineError | SetAside:
        """The post's stored message, its refusal, or ``SET_ASIDE``."""
        return self.stored.get(post) or self.refused.get(post) or SET_ASIDE


@dataclass(frozen=True)
class _Permitted:
    post: MessagePost
    workspace_id: UUID


async def write_batch(uow: UnitOfWork, posts: Sequence[MessagePost], *, wait_for_locks: bool) -> WrittenBatch:
    """Write the posts in ``uow``'s transaction, in the order given (the caller commits)."""
    written = WrittenBatch()
    held_up = await _hold_posters(uow, posts, wait_for_locks=wait_for_locks)
    accepted: list[_Permitted] = []
    for post, access in (await _check_posters(uow, posts, skip=held_up)).items():
        if isinstance(access, ThreadlineError):
            written.refused[post] = access
        else:
            accepted.append(access)
    held_up |= await _lock_conversations(uow, accepted, wait_for_locks=wait_for_locks)
    await _store_and_log(
        uow, [item for item in accepted if item.post.conversation_id not in held_up], written
    )
    written.set_aside = [
        post for post in posts if post.conversation_id in held_up and post not in written.refused
    ]
    return written


async def _hold_posters(uow: UnitOfWork, posts: Sequence[MessagePost], *, wait_for_locks: bool) -> set[UUID]:
    """Hold every poster's memberships (``hold_members``); the conversations posted to by a poster another
    transaction holds, which are set aside whole."""
    posters = {post.actor.user_id for post in posts}
    if wait_for_locks:
        await uow.access.hold_members(posters)
        return set()
    held = await uow.access.try_hold_members(posters)
    return {post.conversation_id for post in posts if post.actor.user_id not in held}


async def _check_posters(
    uow: UnitOfWork, posts: Sequence[MessagePost], *, skip: set[UUID]
) -> dict[MessagePost, _Permitted | ThreadlineError]:
    """Each post's workspace, or why its poster may not post there (one query per poster); the posts to
    conversations in ``skip`` are left out."""
    posts = [post for post in posts if post.conversation_id not in skip]
    posters: dict[UUID, tuple[Actor, set[UUID]]] = {}
    for post in posts:
        posters.setdefault(post.actor.user_id, (post.actor, set()))[1].add(post.conversation_id)
    roles = {
        user_id: await conversation_roles(uow, actor, conversation_ids, Role.EDITOR)
        for user_id, (actor, conversation_ids) in posters.items()
    }
    checked: dict[MessagePost, _Permitted | ThreadlineError] = {}
    for post in posts:
        access = roles[post.actor.user_id][post.conversation_id]
        checked[post] = access if isinstance(access, ThreadlineError) else _Permitted(post, access[0])
    return checked


async def _lock_conversations(
    uow: UnitOfWork, accepted: Sequence[_Permitted], *, wait_for_locks: bool
) -> set[UUID]:
    """Lock the conversations posted to; those another transaction holds, unless waiting for them."""
    wanted = Counter(item.post.conversation_id for item in accepted)
    if wait_for_locks:
        await uow.conversations.lock_for_writing(wanted)
        return set()
    return set(wanted) - await uow.conversations.try_lock_for_writing(set(wanted))


async def _store_and_log(uow: UnitOfWork, accepted: Sequence[_Permitted], written: WrittenBatch) -> None:
    """Store the posts, their conversations locked, and log a ``message.created`` for each."""
    stored = await store_messages(uow, [item.post.message for item in accepted], locked=True)
    events = []
    for item, message in zip(accepted, stored, strict=True):
        if message is None:
            written.refused[item.post] = NotFound("Conversation not found")
            continue
        written.stored[item.post] = message
        events.append(
            message_event(
                EventType.MESSAGE_CREATED, message, workspace_id=item.workspace_id, actor=item.post.actor
            )
        )
    if events:
        # At the messages' own time, which their conversations' last_active_at took: a list walk reads a
        # conversation's activity back from its events.
        written_at = max(message.created_at for message in written.stored.values())
        await log_activities(uow, events, now=written_at)


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
