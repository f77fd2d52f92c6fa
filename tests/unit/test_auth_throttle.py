"""The sliding window of failed logins behind the 429 of API.md §2, on a clock the test moves."""

from __future__ import annotations

import pytest

from threadline.errors import RateLimited
from threadline.services.login_throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(max_failures=3, window_seconds=60, clock=clock)


def fail(throttle: LoginThrottle, clock: Clock, times: int, *, every: float = 1.0) -> None:
    for _ in range(times):
        throttle.record_failure("email:a", "client:1")
        clock.now += every


def test_allows_failures_below_the_limit(throttle: LoginThrottle, clock: Clock) -> None:
    fail(throttle, clock, 2)

    throttle.check("email:a", "client:1")


def test_refuses_at_the_limit_until_the_oldest_failure_leaves_the_window(
    throttle: LoginThrottle, clock: Clock
) -> None:
    fail(throttle, clock, 3, every=10)  # failures at 1000, 1010 and 1020; now 1030

    with pytest.raises(RateLimited) as refused:
        throttle.check("email:a")
    assert refused.value.retry_after == 30

    clock.now = 1060
    throttle.check("email:a")


def test_counts_each_key_on_its_own(throttle: LoginThrottle, clock: Clock) -> None:
    fail(throttle, clock, 3)

    throttle.check("email:b", "client:2")
    with pytest.raises(RateLimited):
        throttle.check("email:b", "client:1")


def test_reset_forgets_a_key(throttle: LoginThrottle, clock: Clock) -> None:
    fail(throttle, clock, 3)

    throttle.reset("email:a")

    throttle.check("email:a")
    with pytest.raises(RateLimited):
        throttle.check("client:1")


def test_retry_after_is_at_least_one_second(throttle: LoginThrottle, clock: Clock) -> None:
    fail(throttle, clock, 3, every=0)
    clock.now += 59.99

    with pytest.raises(RateLimited) as refused:
        throttle.check("email:a")
    assert refused.value.retry_after == 1
