"""Group commit of posts (``MessageAppender``): posts that arrive together share a transaction, but each
is checked, numbered and announced as its own, and none fails because of another.

Posts started together with ``asyncio.gather`` are all queued before the appender's writer runs, so
they form one batch; messages written in one transaction share their ``created_at``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.support import databases
from tests.support.accounts import unique_email
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Forbidden, NotFound, ThreadlineError, Unavailable
from threadline.models.domain.conversation import Message, MessageRole, NewMessage
from threadline.models.domain.user import Actor, Credential
from threadline.models.domain.workspace import Role
from threadline.services.message_appender import MessageAppender
from threadline.services.message_batches import store_messages


@dataclass
class Team:
    owner: Actor
    viewer: Actor
    stranger: Actor
    conversations: tuple[UUID, UUID]


@pytest.fixture
async def rings(database: Database) -> list[int]:
    return []


@pytest.fixture
async def appender(database: Database, rings: list[int]) -> AsyncIterator[MessageAppender]:
    appender = MessageAppender(partial(UnitOfWork, database, announce=rings.append))
    appender.start()
    try:
        yield appender
    finally:
        await appender.close()


@pytest.fixture
async def team(database: Database) -> Team:
    """An owner and a viewer of a workspace with two conversations, and a user outside it."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        users = [
            await uow.users.add(email=unique_email(name), name=name, password_hash="-", now=now)
            for name in ("owner", "viewer", "stranger")
        ]
        workspace = await uow.workspaces.add(
            name="Batch", description="", metadata={}, owner_id=users[0].id, now=now
        )
        await uow.members.add(workspace.id, users[0], role=Role.OWNER, now=now)
        await uow.members.add(workspace.id, users[1], role=Role.VIEWER, now=now)
        conversations = [
            await uow.conversations.add(
                workspace_id=workspace.id, title=title, modality="chat", metadata={}, now=now
            )
            for title in ("first", "second")
        ]
        await uow.commit()
    owner, viewer, stranger = (Actor(user_id=user.id, credential=Credential.ACCESS_TOKEN) for user in users)
    return Team(owner, viewer, stranger, (conversations[0].id, conversations[1].id))


def _post(actor: Actor, conversation_id: UUID, content: str, **metadata: Any) -> NewMessage:
    return NewMessage(
        conversation_id=conversation_id,
        role=MessageRole.USER,
        content=content,
        metadata=metadata,
        author_id=actor.user_id,
    )


async def _post_together(
    appender: MessageAppender, posts: list[tuple[Actor, NewMessage]]
) -> list[Message | BaseException]:
    return await asyncio.gather(
        *(appender.post(actor, post) for actor, post in posts), return_exceptions=True
    )


async def _stored(database: Database, conversation_id: UUID) -> tuple[list[Message], list[int]]:
    """The conversation's messages and the ``seq`` of its ``message.created`` events, in log order."""
    async with UnitOfWork(database) as uow:
        window = await uow.messages.window(conversation_id, limit=200)
        events = (await uow.events.replay(0, limit=1000, conversation_id=conversation_id)).events
    return window.items, [event.data["seq"] for event in events if event.type == "message.created"]


async def test_posts_that_arrive_together_are_written_together_each_with_its_own_seq_and_event(
    database: Database, appender: MessageAppender, team: Team, rings: list[int]
) -> None:
    first, second = team.conversations
    posts = [(team.owner, _post(team.owner, (first, second)[n % 2], f"m{n}")) for n in range(10)]

    answers = await _post_together(appender, posts)

    assert all(isinstance(answer, Message) for answer in answers)
    messages = [answer for answer in answers if isinstance(answer, Message)]
    assert len({message.created_at for message in messages}) == 1, "one transaction"
    for conversation_id in (first, second):
        mine = [message for message in messages if message.conversation_id == conversation_id]
        assert [message.seq for message in mine] == [1, 2, 3, 4, 5]
        stored, event_seqs = await _stored(database, conversation_id)
        assert [(message.seq, message.content) for message in stored] == [
            (message.seq, message.content) for message in mine
        ]
        assert event_seqs == [1, 2, 3, 4, 5]
    assert len(rings) == 1, "one ring for the whole batch"


async def test_a_post_refused_by_its_check_fails_alone(
    database: Database, appender: MessageAppender, team: Team
) -> None:
    first, _ = team.conversations
    posts = [
        (team.owner, _post(team.owner, first, "kept 1")),
        (team.viewer, _post(team.viewer, first, "viewer")),
        (team.stranger, _post(team.stranger, first, "stranger")),
        (team.owner, _post(team.owner, first, "kept 2")),
    ]

    answers = await _post_together(appender, posts)

    assert isinstance(answers[1], Forbidden)
    assert isinstance(answers[2], NotFound)
    stored, event_seqs = await _stored(database, first)
    assert [(message.seq, message.content) for message in stored] == [(1, "kept 1"), (2, "kept 2")]
    assert event_seqs == [1, 2]


async def test_a_post_that_breaks_the_shared_transaction_fails_alone(
    database: Database, appender: MessageAppender, team: Team
) -> None:
    first, _ = team.conversations
    unstorable = _post(team.owner, first, "unstorable", bad={1, 2})  # a set is not JSON
    posts = [(team.owner, _post(team.owner, first, f"m{n}")) for n in range(3)]
    posts.insert(1, (team.owner, unstorable))

    answers = await _post_together(appender, posts)

    # The storing failed (a set is not JSON), not a check that refused it.
    assert isinstance(answers[1], Exception)
    assert not isinstance(answers[1], ThreadlineError), answers[1]
    assert "not JSON serializable" in str(answers[1]), answers[1]
    assert [answer.seq for answer in answers if isinstance(answer, Message)] == [1, 2, 3]
    stored, event_seqs = await _stored(database, first)
    assert [message.content for message in stored] == ["m0", "m1", "m2"]
    assert event_seqs == [1, 2, 3]


async def test_a_post_to_a_deleted_conversation_is_not_found(
    database: Database, appender: MessageAppender, team: Team
) -> None:
    first, second = team.conversations
    async with UnitOfWork(database) as uow:
        await uow.conversations.delete(second)
        await uow.commit()

    answers = await _post_together(
        appender,
        [(team.owner, _post(team.owner, second, "gone")), (team.owner, _post(team.owner, first, "here"))],
    )

    assert isinstance(answers[0], NotFound)
    assert isinstance(answers[1], Message)
    assert answers[1].seq == 1


async def test_a_post_whose_caller_left_before_it_was_written_is_not_written(
    database: Database, appender: MessageAppender, team: Team
) -> None:
    first, _ = team.conversations
    abandoned = asyncio.ensure_future(appender.post(team.owner, _post(team.owner, first, "abandoned")))
    await asyncio.sleep(0)  # queued, not yet written
    abandoned.cancel()

    kept = await appender.post(team.owner, _post(team.owner, first, "kept"))

    assert kept.seq == 1
    stored, _ = await _stored(database, first)
    assert [message.content for message in stored] == ["kept"]


async def test_posts_queued_behind_a_batch_the_database_refused_fail_with_it_without_waiting(
    database: Database, rings: list[int], team: Team
) -> None:
    """Behind a silent database each batch waits out the timeout; the queue must not wait it out batch by
    batch, so the posts behind the first are answered with it (and never tried)."""
    attempts = 0

    class UnreachableDatabase(UnitOfWork):
        async def __aenter__(self) -> UnitOfWork:
            nonlocal attempts
            attempts += 1
            raise Unavailable("The database is unavailable")

    appender = MessageAppender(partial(UnreachableDatabase, database, announce=rings.append), max_batch=2)
    appender.start()
    try:
        first, _ = team.conversations
        answers = await _post_together(
            appender, [(team.owner, _post(team.owner, first, f"m{n}")) for n in range(6)]
        )
    finally:
        await appender.close()

    assert all(isinstance(answer, Unavailable) for answer in answers)
    assert attempts == 1
    assert rings == []


class _StallingUnitOfWork(UnitOfWork):
    """A unit of work whose connection never closes once it has committed: the appender is stopped then."""

    closing = asyncio.Event()

    async def __aexit__(self, *exc_info: Any) -> None:
        await super().__aexit__(*exc_info)
        if self._committed:
            self.closing.set()
            await asyncio.Event().wait()


async def test_a_stored_post_is_answered_though_the_appender_stops_right_after_its_commit(
    database: Database, team: Team
) -> None:
    """Stopped at shutdown after the commit, it must not answer an error for a post it stored: the client
    would retry it, and store it twice."""
    _StallingUnitOfWork.closing = asyncio.Event()
    appender = MessageAppender(partial(_StallingUnitOfWork, database))
    appender.start()
    posting = asyncio.ensure_future(
        appender.post(team.owner, _post(team.owner, team.conversations[0], "kept"))
    )
    await _StallingUnitOfWork.closing.wait()
    await appender.close()

    message = await posting
    stored, _ = await _stored(database, team.conversations[0])
    assert [(stored_message.id, stored_message.content) for stored_message in stored] == [
        (message.id, "kept")
    ]


async def test_a_closed_appender_refuses_posts(appender: MessageAppender, team: Team) -> None:
    await appender.close()

    with pytest.raises(Unavailable):
        await appender.post(team.owner, _post(team.owner, team.conversations[0], "late"))


async def test_two_appenders_writing_the_same_conversations_in_opposite_orders_neither_lose_nor_deadlock(
    database: Database, appender: MessageAppender, team: Team
) -> None:
    """As two processes would: each batch locks both conversations, which must never deadlock."""
    first, second = team.conversations
    other = MessageAppender(partial(UnitOfWork, database))
    other.start()
    rounds = 10
    try:
        answers = await asyncio.gather(
            *(
                _post_together(
                    writer, [(team.owner, _post(team.owner, conversation, f"r{n}")) for conversation in order]
                )
                for n in range(rounds)
                for writer, order in ((appender, (first, second)), (other, (second, first)))
            )
        )
    finally:
        await other.close()

    assert all(isinstance(answer, Message) for batch in answers for answer in batch), answers
    for conversation_id in (first, second):
        stored, event_seqs = await _stored(database, conversation_id)
        assert [message.seq for message in stored] == list(range(1, 2 * rounds + 1))
        assert event_seqs == list(range(1, 2 * rounds + 1))


async def test_store_messages_numbers_each_conversation_and_leaves_out_posts_to_one_that_is_gone(
    database: Database, team: Team
) -> None:
    """The conversation can vanish between the batch's permission check and its ``seq`` reservation."""
    first, second = team.conversations
    gone = uuid4()
    posts = [
        _post(team.owner, conversation, f"m{n}")
        for n, conversation in enumerate([first, gone, second, first])
    ]

    async with UnitOfWork(database) as uow:
        stored = await store_messages(uow, posts)
        await uow.commit()

    assert [(message.conversation_id, message.seq) if message else None for message in stored] == [
        (first, 1),
        None,
        (second, 1),
        (first, 2),
    ]
    assert [message.content for message in (await _stored(database, first))[0]] == ["m0", "m3"]


async def test_store_messages_answers_none_for_every_post_when_every_conversation_is_gone(
    database: Database, team: Team
) -> None:
    """On PostgreSQL a conversation deleted after the permission check is gone by the reservation."""
    gone = uuid4()

    async with UnitOfWork(database) as uow:
        stored = await store_messages(uow, [_post(team.owner, gone, "a"), _post(team.owner, gone, "b")])
        await uow.commit()

    assert stored == [None, None]
    async with UnitOfWork(database) as uow:
        assert (await uow.messages.window(team.conversations[0], limit=10)).items == []


def _on_postgresql(test: Any) -> Any:
    """PostgreSQL only: there other transactions hold row and advisory locks; SQLite has one writer."""
    return pytest.mark.postgres(pytest.mark.parametrize("database_url", ["postgres"], indirect=True)(test))


async def _add_editor(database: Database, team: Team) -> Actor:
    """Another poster in the team's workspace."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        user = await uow.users.add(email=unique_email("editor"), name="editor", password_hash="-", now=now)
        workspace_id = await uow.access.role_for_conversation(team.owner.user_id, team.conversations[0])
        assert workspace_id is not None
        await uow.members.add(workspace_id[0], user, role=Role.EDITOR, now=now)
        await uow.commit()
    return Actor(user_id=user.id, credential=Credential.ACCESS_TOKEN)


@_on_postgresql
async def test_a_conversation_another_transaction_holds_holds_up_only_the_posts_to_it(
    database: Database, appender: MessageAppender, team: Team, postgres_dsn: str
) -> None:
    """A conversation locked for long (being deleted, say) must not hold up posts to other conversations,
    which share the appender; its own posts wait, then get the next ``seq`` values in order."""
    held, free = team.conversations
    async with UnitOfWork(database) as holder:
        await holder.conversations.lock_for_writing([held])
        waiting = [
            asyncio.ensure_future(appender.post(team.owner, _post(team.owner, held, f"held {n}")))
            for n in range(3)
        ]
        await databases.until_waiting_on_locks(postgres_dsn, 1)
        passing = await asyncio.wait_for(
            _post_together(appender, [(team.owner, _post(team.owner, free, f"free {n}")) for n in range(3)]),
            10,
        )
        assert [answer.seq for answer in passing if isinstance(answer, Message)] == [1, 2, 3]
        assert not any(post.done() for post in waiting)

    answers = await asyncio.wait_for(asyncio.gather(*waiting), 10)
    assert sorted(answer.seq for answer in answers) == [1, 2, 3]
    stored, event_seqs = await _stored(database, held)
    assert sorted(message.content for message in stored) == ["held 0", "held 1", "held 2"]
    assert event_seqs == [1, 2, 3]


@_on_postgresql
async def test_a_poster_whose_removal_is_under_way_holds_up_only_their_own_posts(
    database: Database, appender: MessageAppender, team: Team, postgres_dsn: str
) -> None:
    """The removal holds the poster exclusively (``hold_members``): their post waits for it, the others
    go on."""
    editor = await _add_editor(database, team)
    first, second = team.conversations
    async with UnitOfWork(database) as removal:
        await removal.access.hold_members([editor.user_id], exclusively=True)
        held_up = asyncio.ensure_future(appender.post(editor, _post(editor, first, "editor")))
        await databases.until_waiting_on_locks(postgres_dsn, 1)
        passing = await asyncio.wait_for(appender.post(team.owner, _post(team.owner, second, "owner")), 10)
        assert passing.seq == 1
        assert not held_up.done()

    assert (await asyncio.wait_for(held_up, 10)).seq == 1


@_on_postgresql
async def test_posts_set_aside_time_out_alone(database_url: str, team: Team, postgres_dsn: str) -> None:
    """Posts waiting longer than the database timeout for a conversation answer 503; the others are stored."""
    impatient = Database(create_engine(database_url, timeout=1.0))
    appender = MessageAppender(partial(UnitOfWork, impatient))
    appender.start()
    held, free = team.conversations
    try:
        async with UnitOfWork(impatient) as holder:
            await holder.conversations.lock_for_writing([held])
            answers = await _post_together(
                appender,
                [
                    (team.owner, _post(team.owner, conversation, "m"))
                    for conversation in (held, free, held, free)
                ],
            )
    finally:
        await appender.close()
        await impatient.dispose()

    assert [type(answer) for answer in answers] == [Unavailable, Message, Unavailable, Message]


@_on_postgresql
async def test_posts_set_aside_are_answered_when_the_appender_closes(
    database: Database, team: Team, postgres_dsn: str
) -> None:
    appender = MessageAppender(partial(UnitOfWork, database))
    appender.start()
    held, _ = team.conversations
    async with UnitOfWork(database) as holder:
        await holder.conversations.lock_for_writing([held])
        post = asyncio.ensure_future(appender.post(team.owner, _post(team.owner, held, "m")))
        await databases.until_waiting_on_locks(postgres_dsn, 1)
        await asyncio.wait_for(appender.close(), 10)

    with pytest.raises(Unavailable):
        await post


@_on_postgresql
async def test_posts_to_a_conversation_set_aside_meanwhile_are_all_written_once(
    database: Database, appender: MessageAppender, team: Team, postgres_dsn: str
) -> None:
    """Posts that arrive while their conversation is set aside queue behind its first: every post is
    stored once, ``seq`` 1..n, events in order."""
    held, _ = team.conversations
    async with UnitOfWork(database) as holder:
        await holder.conversations.lock_for_writing([held])
        first = asyncio.ensure_future(appender.post(team.owner, _post(team.owner, held, "first")))
        await databases.until_waiting_on_locks(postgres_dsn, 1)
        later = [
            asyncio.ensure_future(appender.post(team.owner, _post(team.owner, held, f"later {n}")))
            for n in range(5)
        ]
        await asyncio.sleep(0.2)
        assert not first.done()
        assert not any(post.done() for post in later)

    answers = await asyncio.wait_for(asyncio.gather(first, *later), 10)
    assert sorted(answer.seq for answer in answers) == [1, 2, 3, 4, 5, 6]
    stored, event_seqs = await _stored(database, held)
    assert sorted(message.content for message in stored) == ["first"] + [f"later {n}" for n in range(5)]
    assert event_seqs == [1, 2, 3, 4, 5, 6]


@_on_postgresql
async def test_a_conversation_held_past_the_timeout_gives_up_its_writer_to_the_next(
    database_url: str, team: Team, postgres_dsn: str
) -> None:
    """With one set-aside writer, a conversation held for good takes it only until the database timeout:
    its posts answer 503, and then another conversation set aside is written."""
    impatient = Database(create_engine(database_url, timeout=1.0))
    appender = MessageAppender(partial(UnitOfWork, impatient), waiting_writers=1)
    appender.start()
    stuck, briefly = team.conversations
    try:
        async with UnitOfWork(impatient) as for_good:
            await for_good.conversations.lock_for_writing([stuck])
            stuck_post = asyncio.ensure_future(appender.post(team.owner, _post(team.owner, stuck, "stuck")))
            await databases.until_waiting_on_locks(postgres_dsn, 1)
            async with UnitOfWork(impatient) as for_a_moment:
                await for_a_moment.conversations.lock_for_writing([briefly])
                brief_post = asyncio.ensure_future(appender.post(team.owner, _post(team.owner, briefly, "b")))
                await asyncio.sleep(0.2)  # set aside, and waiting for the one writer
            with pytest.raises(Unavailable):
                await asyncio.wait_for(stuck_post, 10)
            assert (await asyncio.wait_for(brief_post, 10)).seq == 1
    finally:
        await appender.close()
        await impatient.dispose()


@_on_postgresql
async def test_a_conversation_posted_to_without_pause_does_not_keep_the_set_aside_writer(
    database: Database, team: Team, postgres_dsn: str
) -> None:
    """A set-aside writer gives its conversation back after its turn: posts that keep coming to it must
    not keep the writer (here the only one) from another conversation set aside."""
    appender = MessageAppender(partial(UnitOfWork, database), waiting_writers=1)
    appender.start()
    busy, other = team.conversations
    stop = asyncio.Event()

    async def post_without_pause() -> None:
        while not stop.is_set():
            await appender.post(team.owner, _post(team.owner, busy, "again"))

    posters = [asyncio.ensure_future(post_without_pause()) for _ in range(8)]
    try:
        async with UnitOfWork(database) as holder:
            await holder.conversations.lock_for_writing([busy, other])
            await asyncio.sleep(0.1)  # the busy conversation's posts are set aside first, and take the writer
            other_post = asyncio.ensure_future(appender.post(team.owner, _post(team.owner, other, "other")))
            await databases.until_waiting_on_locks(postgres_dsn, 1)
            await asyncio.sleep(0.1)
        assert (await asyncio.wait_for(other_post, 10)).seq == 1
    finally:
        stop.set()
        await asyncio.gather(*posters, return_exceptions=True)
        await appender.close()


class _RecordingObserver:
    """A ``BatchObserver`` (what the metrics are) that records each committed batch and each failed one."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, int]] = []
        self.failures: list[bool] = []

    def committed(self, *, answered: int, set_aside: int, seconds: float) -> None:
        assert seconds > 0
        self.batches.append((answered, set_aside))

    def failed(self, *, unavailable: bool) -> None:
        self.failures.append(unavailable)


@pytest.fixture
def observed() -> _RecordingObserver:
    return _RecordingObserver()


@pytest.fixture
async def observed_appender(
    database: Database, observed: _RecordingObserver
) -> AsyncIterator[MessageAppender]:
    appender = MessageAppender(partial(UnitOfWork, database), observer=observed)
    appender.start()
    try:
        yield appender
    finally:
        await appender.close()


async def test_a_batch_tells_its_observer_once_what_it_answered(
    observed_appender: MessageAppender, observed: _RecordingObserver, team: Team
) -> None:
    first, _ = team.conversations
    posts = [(team.owner, _post(team.owner, first, f"m{n}")) for n in range(5)]
    posts.append((team.viewer, _post(team.viewer, first, "refused")))

    await _post_together(observed_appender, posts)

    assert observed.batches == [(6, 0)], "one transaction, answering the refused post too"
    assert observed.failures == []


async def test_a_batch_that_breaks_is_observed_failing_then_its_posts_alone(
    observed_appender: MessageAppender, observed: _RecordingObserver, team: Team
) -> None:
    first, _ = team.conversations
    posts = [(team.owner, _post(team.owner, first, f"m{n}")) for n in range(2)]
    posts.append((team.owner, _post(team.owner, first, "unstorable", bad={1})))

    await _post_together(observed_appender, posts)

    assert observed.failures == [False, False], "the batch, then the unstorable post alone"
    assert observed.batches == [(1, 0), (1, 0)]


async def test_a_batch_the_database_refused_is_observed_as_unavailable(
    database: Database, observed: _RecordingObserver, team: Team
) -> None:
    class UnreachableDatabase(UnitOfWork):
        async def __aenter__(self) -> UnitOfWork:
            raise Unavailable("The database is unavailable")

    appender = MessageAppender(partial(UnreachableDatabase, database), observer=observed)
    appender.start()
    try:
        first, _ = team.conversations
        await _post_together(appender, [(team.owner, _post(team.owner, first, f"m{n}")) for n in range(3)])
    finally:
        await appender.close()

    assert observed.failures == [True]
    assert observed.batches == []


@_on_postgresql
async def test_posts_set_aside_are_observed_once_set_aside_and_once_answered(
    database: Database,
    observed_appender: MessageAppender,
    observed: _RecordingObserver,
    team: Team,
    postgres_dsn: str,
) -> None:
    held, free = team.conversations
    async with UnitOfWork(database) as holder:
        await holder.conversations.lock_for_writing([held])
        waiting = [
            asyncio.ensure_future(observed_appender.post(team.owner, _post(team.owner, held, f"held {n}")))
            for n in range(3)
        ]
        await databases.until_waiting_on_locks(postgres_dsn, 1)
        await _post_together(observed_appender, [(team.owner, _post(team.owner, free, "free"))])
    await asyncio.wait_for(asyncio.gather(*waiting), 10)

    assert sum(set_aside for _, set_aside in observed.batches) == 3
    assert sum(answered for answered, _ in observed.batches) == 4
