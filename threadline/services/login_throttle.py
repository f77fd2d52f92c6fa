"""Slows down password guessing: too many failed logins per email or per client address answer 429."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from threadline.errors import RateLimited


class LoginThrottle:
    """A sliding window of recent failures per key, in this process's memory.

    Several processes each keep their own window, so the effective limit grows with their number;
    the point is to make online guessing slow, not to be exact.
    """

    def __init__(
        self,
        *,
        max_failures: int,
        window_seconds: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def check(self, *keys: str) -> None:
        """Raise ``RateLimited`` if any key has used up its failures in the current window."""
        now = self._clock()
        for key in keys:
            failures = self._recent(key, now)
            if len(failures) >= self._max_failures:
                retry_after = math.ceil(failures[0] + self._window - now)
                raise RateLimited("Too many failed logins; try again later", retry_after=max(retry_after, 1))

    def record_failure(self, *keys: str) -> float:
        """Count a failure against each key; returns its time, which ``forgive`` takes back."""
        now = self._clock()
        if len(self._failures) >= self._max_keys:
            self._evict(now)
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        return now

    def forgive(self, recorded_at: float, *keys: str) -> None:
        """Take back a failure recorded at ``recorded_at``: the attempt it stood for succeeded."""
        for key in keys:
            failures = self._failures.get(key)
            if failures is not None and recorded_at in failures:
                failures.remove(recorded_at)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        return failures

    def _evict(self, now: float) -> None:
        for key in [key for key, failures in self._failures.items() if not self._recent(key, now)]:
            del self._failures[key]
