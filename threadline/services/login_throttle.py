"""Slows down password guessing: too many failed logins per email or per client address answer 429."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import RateLimited


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A login let through and counted as failed until ``LoginThrottle.succeeded`` takes it back."""

    key_hashes: tuple[str, ...]
    failure_ids: tuple[int, ...]


class LoginThrottle:
    """A sliding window of recent failures per key, kept in the database so that every process of a
    deployment counts them all.

    Keys are stored hashed. Two processes checking the same key at the same moment may each let one more
    attempt through than the limit; the point is to make online guessing slow, not to be exact.
    """

    def __init__(
        self,
        new_unit_of_work: Callable[[], UnitOfWork],
        *,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._max_failures = max_failures
        self._window = timedelta(seconds=window_seconds)
        self._clock = clock

    @property
    def window(self) -> timedelta:
        return self._window

    async def admit(self, *keys: str) -> Attempt:
        """Raise ``RateLimited`` if any key has used up its failures in the current window; otherwise count
        this attempt as a failure of each key right away, so that guesses sent in parallel (to any process)
        cannot all pass the check before the first is judged."""
        now = self._clock()
        hashes = [_hash(key) for key in keys]
        async with self._new_unit_of_work() as uow:
            await uow.login_failures.lock(hashes)
            recent = await uow.login_failures.since(hashes, since=now - self._window)
            for failures in recent.values():
                if failures.count >= self._max_failures:
                    retry_after = math.ceil((failures.oldest + self._window - now).total_seconds())
                    raise RateLimited(
                        "Too many failed logins; try again later", retry_after=max(retry_after, 1)
                    )
            ids = await uow.login_failures.add(hashes, at=now)
            await uow.commit()
        return Attempt(tuple(hashes), tuple(ids))

    async def succeeded(self, attempt: Attempt, *, forget: str) -> None:
        """The attempt proved right: it is no failure, and the failures of the key ``forget`` (its email)
        are forgotten too. The other keys (its client address) keep their earlier failures."""
        forgotten = _hash(forget)
        async with self._new_unit_of_work() as uow:
            await uow.login_failures.lock({*attempt.key_hashes, forgotten})
            await uow.login_failures.remove(attempt.failure_ids)
            await uow.login_failures.clear(forgotten)
            await uow.commit()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
