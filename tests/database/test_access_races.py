"""On PostgreSQL, a change and a change of who may make it cannot interleave.

A change holds its caller's membership from the permission check to its commit, so the caller's removal
or demotion waits for it, and lands after it in the event log. A workspace's deletion locks every
membership first: a member added meanwhile is removed with an event, and a second deletion (or a second
removal of one member) finds nothing left to do: 404, no second event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.support import databases
from tests.support.accounts import unique_email
from threadline.database.engine import Database
from threadline.database.repositories.conversations import ConversationRepository
from threadline.database.repositories.idempotency import IdempotencyRepository
from threadline.database.repositories.messages import MessageRepository
from threadline.database.repositories.workspaces import MemberRepository, WorkspaceRepository
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import NotFound
from threadline.models.domain.conversation import MessageRole, NewMessage
from threadline.models.domain.event import Event, EventType
from threadline.models.domain.user import Actor, Credential, User
from threadline.models.domain.workspace import Role
from threadline.services import message_batches
from threadline.services.access import require_conversation_role
from threadline.services.conversations import ConversationService
from threadline.services.message_appender import MessageAppender
from threadline.services.message_batches import store_messages
from threadline.services.messages import MessageService
from threadline.services.workspaces import WorkspaceService

# The conftest's database, on PostgreSQL only.
pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]


@dataclass
class Team:
    workspace_id: UUID
    conversation_id: UUID
    owner: Actor
    editor: Actor
    newcomer: User


@pytest.fixture
async def team(database: Database) -> Team:
    """A workspace with its owner, an editor and a conversation; and a user who is not a member yet."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        owner, editor, newcomer = [
            await uow.users.add(email=unique_email(name), name=name, password_hash="-", now=now)
            for name in ("owner", "editor", "newcomer")
        ]
        workspace = await uow.workspaces.add(
            name="Races", description="", metadata={}, owner_id=owner.id, now=now
        )
        await uow.members.add(workspace.id, owner, role=Role.OWNER, now=now)
        await uow.members.add(workspace.id, editor, role=Role.EDITOR, now=now)
        conversation = await uow.conversations.add(
            workspace_id=workspace.id, title="", modality="chat", metadata={}, now=now
        )
        await uow.commit()
    return Team(workspace.id, conversation.id, _actor(owner), _actor(editor), newcomer)


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, credential=Credential.ACCESS_TOKEN)


def _workspaces(database: Database) -> WorkspaceService:
    return WorkspaceService(partial(UnitOfWork, database))


_STARTED: list[asyncio.Future[Any]] = []


def _start(change: Awaitable[Any]) -> asyncio.Future[Any]:
    task = asyncio.ensure_future(change)
    _STARTED.append(task)
    return task


@pytest.fixture(autouse=True)
async def _no_change_outlives_its_test(database: Database) -> AsyncIterator[None]:
    """A test that fails leaves changes paused inside their transactions: cancelled here (before the
    database closes), their locks do not hold up the next test's emptying of the tables."""
    yield
    started, _STARTED[:] = list(_STARTED), []
    for task in started:
        task.cancel()
    await asyncio.gather(*started, return_exceptions=True)


async def _waits_on_a_lock(postgres_dsn: str, change: Awaitable[Any]) -> asyncio.Future[Any]:
    """Start ``change`` and return it once it is blocked on a lock; fail if it finishes first instead."""
    started = _start(change)
    waiting = asyncio.ensure_future(databases.until_waiting_on_locks(postgres_dsn, 1))
    await asyncio.wait({started, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    assert not started.done(), f"went ahead without waiting: {started.exception() or started.result()}"
    return started


async def _events(database: Database) -> list[Event]:
    async with UnitOfWork(database) as uow:
        return (await uow.events.after(0, limit=1000)).events


def _post(team: Team) -> NewMessage:
    return NewMessage(
        conversation_id=team.conversation_id,
        role=MessageRole.USER,
        content="in flight",
        metadata={},
        author_id=team.editor.user_id,
    )


def _remove_editor(database: Database, team: Team) -> Awaitable[Any]:
    return _workspaces(database).remove_member(
        actor=team.owner, workspace_id=team.workspace_id, user_id=team.editor.user_id
    )


def _demote_editor(database: Database, team: Team) -> Awaitable[Any]:
    return _workspaces(database).change_member_role(
        actor=team.owner, workspace_id=team.workspace_id, user_id=team.editor.user_id, role=Role.VIEWER
    )


@dataclass(frozen=True)
class Change:
    """A change an editor makes through its service, and the repository step it is paused at (after its
    permission check) while the editor loses the right to make it."""

    make: Callable[[Database, Team, UUID], Awaitable[Any]]
    paused_at: tuple[type, str]
    event: EventType


def _messages(database: Database) -> MessageService:
    appender = MessageAppender(partial(UnitOfWork, database))  # not started: posts take the key path
    return MessageService(partial(UnitOfWork, database), appender)


def _conversations(database: Database) -> ConversationService:
    return ConversationService(partial(UnitOfWork, database))


CHANGES = {
    "post with an Idempotency-Key": Change(
        lambda database, team, _: _messages(database).post_message(
            actor=team.editor,
            conversation_id=team.conversation_id,
            content="in flight",
            role=MessageRole.USER,
            metadata={},
            idempotency_key="once",
        ),
        (IdempotencyRepository, "claim"),
        EventType.MESSAGE_CREATED,
    ),
    "edit a message": Change(
        lambda database, team, message_id: _messages(database).update_message(
            actor=team.editor, conversation_id=team.conversation_id, message_id=message_id, content="edited"
        ),
        (MessageRepository, "update"),
        EventType.MESSAGE_UPDATED,
    ),
    "delete a message": Change(
        lambda database, team, message_id: _messages(database).delete_message(
            actor=team.editor, conversation_id=team.conversation_id, message_id=message_id
        ),
        (MessageRepository, "delete"),
        EventType.MESSAGE_DELETED,
    ),
    "create a conversation": Change(
        lambda database, team, _: _conversations(database).create_conversation(
            actor=team.editor, workspace_id=team.workspace_id, title="", modality="chat", metadata={}
        ),
        (ConversationRepository, "add"),
        EventType.CONVERSATION_CREATED,
    ),
    "rename a conversation": Change(
        lambda database, team, _: _conversations(database).update_conversation(
            actor=team.editor, conversation_id=team.conversation_id, title="renamed"
        ),
        (ConversationRepository, "update"),
        EventType.CONVERSATION_UPDATED,
    ),
    "delete a conversation": Change(
        lambda database, team, _: _conversations(database).delete_conversation(
            actor=team.editor, conversation_id=team.conversation_id
        ),
        (ConversationRepository, "delete"),
        EventType.CONVERSATION_DELETED,
    ),
}


def _pause(monkeypatch: pytest.MonkeyPatch, at: tuple[type, str]) -> tuple[asyncio.Event, asyncio.Event]:
    """Make the repository method ``at`` wait, once reached, until told to go on: (reached, go_on)."""
    owner, name = at
    reached, go_on = asyncio.Event(), asyncio.Event()
    original = getattr(owner, name)

    async def paused(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        await go_on.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(owner, name, paused)
    return reached, go_on


async def _second_waits_for_first(
    postgres_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    paused_at: tuple[type, str],
    first: Awaitable[Any],
    second: Awaitable[Any],
) -> tuple[asyncio.Future[Any], asyncio.Future[Any]]:
    """Start ``first`` and pause it at the repository method ``paused_at`` (past its permission check);
    start ``second``, which must then wait on a lock; let ``first`` go on. Both are left to be awaited."""
    reached, go_on = _pause(monkeypatch, paused_at)
    started = _start(first)
    await reached.wait()
    waiting = await _waits_on_a_lock(postgres_dsn, second)
    go_on.set()
    return started, waiting


async def _editors_message(database: Database, team: Team) -> UUID:
    async with UnitOfWork(database) as uow:
        [message] = await store_messages(uow, [_post(team)])
        await uow.commit()
    assert message is not None
    return message.id


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
@pytest.mark.parametrize(
    ("take_away", "taken_away_by"),
    [(_remove_editor, EventType.MEMBER_REMOVED), (_demote_editor, EventType.MEMBER_UPDATED)],
    ids=["removal", "demotion"],
)
async def test_taking_a_members_right_waits_for_their_change_in_progress(
    database: Database,
    postgres_dsn: str,
    team: Team,
    monkeypatch: pytest.MonkeyPatch,
    change: Change,
    take_away: Callable[[Database, Team], Awaitable[Any]],
    taken_away_by: EventType,
) -> None:
    message_id = await _editors_message(database, team)
    changing, taking_away = await _second_waits_for_first(
        postgres_dsn,
        monkeypatch,
        change.paused_at,
        change.make(database, team, message_id),
        take_away(database, team),
    )
    await changing
    await taking_away

    order = [event.type for event in await _events(database) if event.type in {change.event, taken_away_by}]
    assert order == [change.event, taken_away_by]


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
async def test_a_change_in_progress_lands_before_its_workspace_is_deleted_or_not_at_all(
    database: Database, postgres_dsn: str, team: Team, monkeypatch: pytest.MonkeyPatch, change: Change
) -> None:
    """The deletion holds no member but the owner: a change in progress either has locked what it
    changes (the deletion waits for it) or finds it gone (404), whatever the workspace's size."""
    message_id = await _editors_message(database, team)
    reached, go_on = _pause(monkeypatch, change.paused_at)
    changing = _start(change.make(database, team, message_id))
    await reached.wait()
    deleting = _start(_delete_workspace(database, team))
    waiting = asyncio.ensure_future(databases.until_waiting_on_locks(postgres_dsn, 1))
    await asyncio.wait({deleting, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    go_on.set()
    changed, _ = await asyncio.gather(changing, deleting, return_exceptions=True)

    types = [event.type for event in await _events(database)]
    deleted_at = types.index(EventType.WORKSPACE_DELETED)
    if isinstance(changed, BaseException):
        assert isinstance(changed, NotFound), changed
    else:
        assert change.event in types[:deleted_at]
    assert change.event not in types[deleted_at:]


async def test_a_member_removed_before_their_change_is_checked_is_refused(
    database: Database, postgres_dsn: str, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: a removal in progress holds the member, so their change waits, then is refused."""
    rename = CHANGES["rename a conversation"].make(database, team, uuid4())
    removing, renaming = await _second_waits_for_first(
        postgres_dsn, monkeypatch, (MemberRepository, "remove"), _remove_editor(database, team), rename
    )
    await removing

    with pytest.raises(NotFound):
        await renaming


async def test_a_waiting_removal_is_not_overtaken_by_the_members_later_changes(
    database: Database, postgres_dsn: str, team: Team
) -> None:
    """Were changes to queue up as shared row locks do, a member changing things without pause could put
    their removal off for good: a change that starts after the removal began waits behind it."""
    async with UnitOfWork(database) as in_progress:
        await require_conversation_role(
            in_progress, team.editor, team.conversation_id, Role.EDITOR, for_change=True
        )
        removing = await _waits_on_a_lock(postgres_dsn, _remove_editor(database, team))
        later = _start(CHANGES["rename a conversation"].make(database, team, uuid4()))
        await databases.until_waiting_on_locks(postgres_dsn, 2)
        assert not later.done()
        await in_progress.commit()
    await removing

    with pytest.raises(NotFound):
        await later


async def test_a_removal_waits_for_a_batch_of_posts_that_checked_the_member(
    database: Database, postgres_dsn: str, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The appender's own path: its batch holds each poster's membership from its check to its commit."""
    checked, go_on = asyncio.Event(), asyncio.Event()

    async def store_after_the_removal_started(uow: UnitOfWork, posts: Any, **options: Any) -> Any:
        checked.set()
        await go_on.wait()
        return await store_messages(uow, posts, **options)

    monkeypatch.setattr(message_batches, "store_messages", store_after_the_removal_started)
    appender = MessageAppender(partial(UnitOfWork, database))
    appender.start()
    try:
        posting = _start(appender.post(team.editor, _post(team)))
        await asyncio.wait_for(checked.wait(), 10)
        removing = await _waits_on_a_lock(postgres_dsn, _remove_editor(database, team))
        go_on.set()
        message = await posting
        await removing
    finally:
        await appender.close()

    assert message.seq == 1
    order = [
        event.type
        for event in await _events(database)
        if event.type in {EventType.MESSAGE_CREATED, EventType.MEMBER_REMOVED}
    ]
    assert order == [EventType.MESSAGE_CREATED, EventType.MEMBER_REMOVED]


def _delete_workspace(database: Database, team: Team) -> Awaitable[Any]:
    return _workspaces(database).delete_workspace(actor=team.owner, workspace_id=team.workspace_id)


def _add_newcomer(database: Database, team: Team) -> Awaitable[Any]:
    return _workspaces(database).add_member(
        actor=team.owner, workspace_id=team.workspace_id, email=team.newcomer.email, role=Role.EDITOR
    )


async def test_a_member_added_while_the_workspace_is_deleted_is_removed_with_an_event(
    database: Database, postgres_dsn: str, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    adding, deleting = await _second_waits_for_first(
        postgres_dsn,
        monkeypatch,
        (MemberRepository, "add"),
        _add_newcomer(database, team),
        _delete_workspace(database, team),
    )
    await adding
    await deleting

    newcomer_events = [
        event.type for event in await _events(database) if event.data.get("user_id") == str(team.newcomer.id)
    ]
    assert newcomer_events == [EventType.MEMBER_ADDED, EventType.MEMBER_REMOVED]


async def test_a_member_added_after_the_deletion_began_is_not_found(
    database: Database, postgres_dsn: str, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    deleting, adding = await _second_waits_for_first(
        postgres_dsn,
        monkeypatch,
        (WorkspaceRepository, "delete"),
        _delete_workspace(database, team),
        _add_newcomer(database, team),
    )
    await deleting

    with pytest.raises(NotFound):
        await adding
    assert [event.type for event in await _events(database)] == [EventType.WORKSPACE_DELETED] + [
        EventType.MEMBER_REMOVED
    ] * 2


async def test_of_two_deletions_of_a_workspace_the_second_is_not_found(
    database: Database, postgres_dsn: str, team: Team
) -> None:
    async with UnitOfWork(database) as first:
        assert await first.workspaces.delete(team.workspace_id) is not None
        second = await _waits_on_a_lock(
            postgres_dsn,
            _workspaces(database).delete_workspace(actor=team.owner, workspace_id=team.workspace_id),
        )
        await first.commit()

    with pytest.raises(NotFound):
        await second
    assert [event.type for event in await _events(database)] == []  # the first wrote its rows only


async def test_of_two_removals_of_a_member_the_second_is_not_found(
    database: Database, postgres_dsn: str, team: Team
) -> None:
    async with UnitOfWork(database) as first:
        assert await first.members.remove(team.workspace_id, team.editor.user_id)
        second = await _waits_on_a_lock(postgres_dsn, _remove_editor(database, team))
        await first.commit()

    with pytest.raises(NotFound):
        await second
    assert [event.type for event in await _events(database)] == []
