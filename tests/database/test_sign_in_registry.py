"""The per-process memory of sign-ins: no read per request, ended sign-ins found by the poll, and
``last_used_at`` written at most once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import pytest

from tests.support.accounts import unique_email
from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unauthenticated
from threadline.models.domain.user import SignIn
from threadline.services.sign_ins import SignInRegistry

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class CountingUnitOfWork(UnitOfWork):
    opened = 0

    async def __aenter__(self) -> CountingUnitOfWork:
        CountingUnitOfWork.opened += 1
        await super().__aenter__()
        return self


async def _sign_in(database: Database) -> SignIn:
    async with UnitOfWork(database) as uow:
        user = await uow.users.add(email=unique_email("reg"), name="R", password_hash="-", now=START)
        sign_in = await uow.sign_ins.add(
            user_id=user.id,
            now=START,
            expires_at=START + timedelta(hours=1),
            client_address="192.0.2.1",
            user_agent="test",
        )
        await uow.commit()
    return sign_in


def _registry(database: Database, clock: Clock) -> SignInRegistry:
    return SignInRegistry(
        partial(CountingUnitOfWork, database), poll_seconds=1, token_lifetime=timedelta(hours=1), clock=clock
    )


async def _last_used(database: Database, sign_in_id: UUID) -> datetime:
    async with UnitOfWork(database) as uow:
        sign_in = await uow.sign_ins.get_live(sign_in_id, now=START)
    assert sign_in is not None
    return sign_in.last_used_at


async def test_a_known_sign_in_is_checked_without_reading_the_database(database: Database) -> None:
    sign_in, clock = await _sign_in(database), Clock()
    registry = _registry(database, clock)
    CountingUnitOfWork.opened = 0

    for _ in range(5):
        await registry.require_live(sign_in.id, user_id=sign_in.user_id)

    assert CountingUnitOfWork.opened == 1


async def test_a_sign_in_ended_elsewhere_is_refused_after_the_next_poll(database: Database) -> None:
    sign_in, clock = await _sign_in(database), Clock()
    registry = _registry(database, clock)
    await registry.require_live(sign_in.id, user_id=sign_in.user_id)
    async with UnitOfWork(database) as uow:
        assert await uow.sign_ins.remove(sign_in.id, user_id=sign_in.user_id)
        await uow.commit()

    await registry.refresh()

    with pytest.raises(Unauthenticated):
        await registry.require_live(sign_in.id, user_id=sign_in.user_id)


async def test_a_token_naming_another_users_sign_in_is_refused(database: Database) -> None:
    sign_in, other = await _sign_in(database), await _sign_in(database)
    registry = _registry(database, Clock())

    with pytest.raises(Unauthenticated):
        await registry.require_live(sign_in.id, user_id=other.user_id)


async def test_last_used_is_written_at_most_once_a_minute(database: Database) -> None:
    sign_in, clock = await _sign_in(database), Clock()
    registry = _registry(database, clock)
    stored = []
    for seconds in (30, 61, 90, 125):
        clock.now = START + timedelta(seconds=seconds)
        await registry.require_live(sign_in.id, user_id=sign_in.user_id)
        await registry.refresh()
        stored.append(await _last_used(database, sign_in.id))

    assert [(moment - START).total_seconds() for moment in stored] == [0, 61, 61, 125]
