"""On PostgreSQL, a change and a change of who may make it cannot interleave.

A change holds its caller's membership from the permission check to its commit, so the caller's removal
or demotion waits for it, and lands after it in the event log. A workspace's deletion locks every
membership first: a member added meanwhile is removed with an event, and a second deletion (or a second
removal of one member) finds nothing left to do: 404, no second event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

import pytest

from tests.support import databases
from tests.support.accounts import unique_email
from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import NotFound
from threadline.events.bus import MemoryBus
from threadline.models.domain.conversation import MessageRole, NewMessage
from threadline.models.domain.event import Event, EventType
from threadline.models.domain.user import Actor, Credential, User
from threadline.models.domain.workspace import Role
from threadline.services import message_appender
from threadline.services.access import require_conversation_role, require_workspace_role
from threadline.services.events import log_activity, member_event, message_event
from threadline.services.message_appender import MessageAppender, store_messages
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
    return WorkspaceService(UnitOfWork(database), MemoryBus())


async def _waits_on_a_lock(postgres_dsn: str, change: Awaitable[Any]) -> asyncio.Future[Any]:
    """Start ``change`` and return it once it is blocked on a lock; fail if it finishes first instead."""
    started = asyncio.ensure_future(change)
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


@pytest.mark.parametrize(
    ("take_away", "taken_away_by"),
    [(_remove_editor, EventType.MEMBER_REMOVED), (_demote_editor, EventType.MEMBER_UPDATED)],
    ids=["removal", "demotion"],
)
async def test_taking_a_members_right_waits_for_their_change_in_progress(
    database: Database,
    postgres_dsn: str,
    team: Team,
    take_away: Callable[[Database, Team], Awaitable[Any]],
    taken_away_by: EventType,
) -> None:
    async with UnitOfWork(database) as uow:
        workspace_id, _ = await require_conversation_role(
            uow, team.editor, team.conversation_id, Role.EDITOR, for_change=True
        )
        taking_away = await _waits_on_a_lock(postgres_dsn, take_away(database, team))
        [message] = await store_messages(uow, [_post(team)])
        assert message is not None
        event = message_event(
            EventType.MESSAGE_CREATED, message, workspace_id=workspace_id, actor=team.editor
        )
        await log_activity(uow, event, now=message.created_at)
        await uow.commit()
    await taking_away

    order = [
        event.type
        for event in await _events(database)
        if event.type in {EventType.MESSAGE_CREATED, taken_away_by}
    ]
    assert order == [EventType.MESSAGE_CREATED, taken_away_by]


async def test_a_removal_waits_for_a_batch_of_posts_that_checked_the_member(
    database: Database, postgres_dsn: str, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The appender's own path: its batch holds each poster's membership from its check to its commit."""
    checked, go_on = asyncio.Event(), asyncio.Event()

    async def store_after_the_removal_started(uow: UnitOfWork, posts: Any) -> Any:
        checked.set()
        await go_on.wait()
        return await store_messages(uow, posts)

    monkeypatch.setattr(message_appender, "store_messages", store_after_the_removal_started)
    appender = MessageAppender(partial(UnitOfWork, database), MemoryBus())
    appender.start()
    try:
        posting = asyncio.ensure_future(appender.post(team.editor, _post(team)))
        await checked.wait()
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


async def test_a_member_added_while_the_workspace_is_deleted_is_removed_with_an_event(
    database: Database, postgres_dsn: str, team: Team
) -> None:
    async with UnitOfWork(database) as uow:
        await require_workspace_role(uow, team.owner, team.workspace_id, Role.OWNER, for_change=True)
        deleting = await _waits_on_a_lock(
            postgres_dsn,
            _workspaces(database).delete_workspace(actor=team.owner, workspace_id=team.workspace_id),
        )
        now = datetime.now(UTC)
        member = await uow.members.add(team.workspace_id, team.newcomer, role=Role.EDITOR, now=now)
        await uow.events.append(member_event(EventType.MEMBER_ADDED, member, team.owner), now=now)
        await uow.commit()
    await deleting

    newcomer_events = [
        event.type for event in await _events(database) if event.data.get("user_id") == str(team.newcomer.id)
    ]
    assert newcomer_events == [EventType.MEMBER_ADDED, EventType.MEMBER_REMOVED]


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
