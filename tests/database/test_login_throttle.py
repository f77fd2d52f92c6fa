"""The sliding window of failed logins behind the 429 of API.md §2, kept in the database (so every process
of a deployment counts every failure), on a clock the test moves."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import text

from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import RateLimited
from threadline.events.retention import RetentionPruner
from threadline.services.login_throttle import Attempt, LoginThrottle

WINDOW = timedelta(seconds=60)
SECRET_KEY = "the deployment's secret"
_ALL_KEYS = text("SELECT key_hash FROM login_failures")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def throttle_on(database: Database, clock: Clock, secret_key: str = SECRET_KEY) -> LoginThrottle:
    """A throttle of its own on ``database``, as each process of a deployment has."""
    return LoginThrottle(
        partial(UnitOfWork, database),
        secret_key=secret_key,
        max_failures=3,
        window_seconds=WINDOW.total_seconds(),
        clock=clock,
    )


@pytest.fixture
def throttle(database: Database, clock: Clock) -> LoginThrottle:
    return throttle_on(database, clock)


async def fail(throttle: LoginThrottle, clock: Clock, times: int, *, every: float = 1.0) -> list[Attempt]:
    attempts = []
    for _ in range(times):
        attempts.append(await throttle.admit("email:a", "client:1"))
        clock.advance(every)
    return attempts


async def test_lets_attempts_through_below_the_limit(throttle: LoginThrottle, clock: Clock) -> None:
    await fail(throttle, clock, 2)

    await throttle.admit("email:a", "client:1")


async def test_refuses_at_the_limit_until_the_oldest_failure_leaves_the_window(
    throttle: LoginThrottle, clock: Clock
) -> None:
    await fail(throttle, clock, 3, every=10)  # failures at :00, :10 and :20; now :30

    with pytest.raises(RateLimited) as refused:
        await throttle.admit("email:a")
    assert refused.value.retry_after == 30

    clock.advance(30)
    await throttle.admit("email:a")


async def test_counts_each_key_on_its_own(throttle: LoginThrottle, clock: Clock) -> None:
    await fail(throttle, clock, 3)

    await throttle.admit("email:b", "client:2")
    with pytest.raises(RateLimited):
        await throttle.admit("email:b", "client:1")


async def test_every_process_counts_the_failures_seen_by_the_others(database: Database, clock: Clock) -> None:
    first, second = throttle_on(database, clock), throttle_on(database, clock)

    await fail(first, clock, 2)
    await fail(second, clock, 1)

    for process in (first, second):
        with pytest.raises(RateLimited):
            await process.admit("email:a")


async def test_a_success_takes_back_its_attempt_and_forgets_the_email_but_not_the_address(
    throttle: LoginThrottle, clock: Clock
) -> None:
    *_, last = await fail(throttle, clock, 3)

    await throttle.succeeded(last, forget="email:a")

    await throttle.admit("email:a")
    await throttle.admit("client:1")  # two earlier failures, plus this attempt: the limit
    with pytest.raises(RateLimited):
        await throttle.admit("client:1")


async def test_retry_after_is_at_least_one_second(throttle: LoginThrottle, clock: Clock) -> None:
    await fail(throttle, clock, 3, every=0)
    clock.advance(59.99)

    with pytest.raises(RateLimited) as refused:
        await throttle.admit("email:a")
    assert refused.value.retry_after == 1


async def test_retry_after_waits_for_the_last_key_to_free_up(throttle: LoginThrottle, clock: Clock) -> None:
    for _ in range(3):
        await throttle.admit("client:1")
    clock.advance(50)
    for _ in range(3):
        await throttle.admit("email:a")
    clock.advance(5)  # client:1 frees up in 5 s, email:a in 55 s

    for keys in (("email:a", "client:1"), ("client:1", "email:a")):
        with pytest.raises(RateLimited) as refused:
            await throttle.admit(*keys)
        assert refused.value.retry_after == 55


async def test_keys_are_stored_as_a_keyed_hash(database: Database, clock: Clock) -> None:
    """An email or a client address is personal data, and a plain hash of an address is reversed by
    trying them all: the table holds an HMAC under the deployment's secret."""
    keys = ("email:alice@example.com", "client:203.0.113.7")
    await throttle_on(database, clock).admit(*keys)
    await throttle_on(database, clock, secret_key="another deployment's").admit(*keys)

    async with database.session() as session:
        stored = set((await session.execute(_ALL_KEYS)).scalars().all())
    assert len(stored) == 4
    assert not stored & {hashlib.sha256(key.encode()).hexdigest() for key in keys}
    assert not any("alice" in key or "203.0.113.7" in key for key in stored)


async def test_retention_prunes_failures_once_their_window_has_passed(
    database: Database, throttle: LoginThrottle, clock: Clock
) -> None:
    clock.now = datetime.now(UTC) - WINDOW - timedelta(seconds=1)
    await fail(throttle, clock, 2)  # out of the window by now
    clock.now = datetime.now(UTC)
    await throttle.admit("email:a")  # in it

    await RetentionPruner(
        database,
        event_retention=timedelta(days=7),
        delta_retention=timedelta(hours=1),
        login_window=WINDOW,
        interval_seconds=3600,
    ).prune()

    async with database.session() as session:
        assert len((await session.execute(_ALL_KEYS)).scalars().all()) == 1
