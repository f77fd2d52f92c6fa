"""When a call is sent again: the policy alone, on answers a real server gives only under load."""

from __future__ import annotations

import httpx
import pytest

from threadline_client import AsyncThreadline, RetryPolicy

POLICY = RetryPolicy(attempts=3, backoff=0.5, max_backoff=4.0)
READ = AsyncThreadline.get_me.call()
WRITE = AsyncThreadline.create_workspace.call(name="Team")


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_only_calls_marked_retry_are_sent_again() -> None:
    assert POLICY.delay(WRITE, 0) is None
    assert POLICY.delay(WRITE, 0, answer(503)) is None
    assert POLICY.delay(READ, 0) is not None


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_busy_answers_are_retried(status: int) -> None:
    assert POLICY.delay(READ, 0, answer(status)) is not None


@pytest.mark.parametrize("status", [200, 400, 401, 404, 409, 422, 500])
def test_other_answers_are_final(status: int) -> None:
    assert POLICY.delay(READ, 0, answer(status)) is None


def test_retry_after_is_waited_and_one_too_long_is_given_up_on() -> None:
    assert POLICY.delay(READ, 0, answer(429, **{"Retry-After": "2"})) == 2.0
    assert POLICY.delay(READ, 0, answer(429, **{"Retry-After": "60"})) is None


def test_backoff_doubles_with_jitter_until_the_attempts_run_out() -> None:
    delays = [POLICY.delay(READ, attempt) for attempt in range(3)]

    assert 0.25 <= (delays[0] or 0) <= 0.5
    assert 0.5 <= (delays[1] or 0) <= 1.0
    assert delays[2] is None


def test_each_post_carries_a_key_of_its_own_that_its_retries_reuse() -> None:
    first = AsyncThreadline.post_message.call("8f0c3c55-7f38-4a49-9cc6-9bb0d2a1c111", "Hi")
    second = AsyncThreadline.post_message.call("8f0c3c55-7f38-4a49-9cc6-9bb0d2a1c111", "Hi")

    assert first.retry
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
