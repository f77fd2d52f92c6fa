"""Slows down password guessing: too many failed logins per email or per client address answer 429."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
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

    Keys are stored as an HMAC under the deployment's secret key: a table of plain hashes of client
    addresses could be reversed by trying every address.
    """

    def __init__(
        self,
        new_unit_of_work: Callable[[], UnitOfWork],
        *,
        secret_key: str,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._secret = secret_key.encode()
        self._max_failures = max_failures
        self._window = timedelta(seconds=window_seconds)
        self._clock = clock

    async def admit(self, *keys: str) -> Attempt:
        """Raise ``RateLimited`` if any key has used up its failures in the current window; otherwise count
        this attempt as a failure of each key right away, so that guesses sent in parallel (to any process)
        cannot all pass the check before the first is judged."""
        hashes = [self._hash(key) for key in keys]
        async with self._new_unit_of_work() as uow:
            await uow.login_failures.lock(hashes)
            now = self._clock()  # once the keys are ours: the failures counted are all there are
            recent = await uow.login_failures.since(hashes, since=now - self._window)
            # A key frees up when its oldest failure leaves the window; the attempt waits for the last.
            waits = [
                failures.oldest + self._window - now
                for failures in recent.values()
                if failures.count >= self._max_failures
            ]
            if waits:
                retry_after = math.ceil(max(waits).total_seconds())
                raise RateLimited("Too many failed logins; try again later", retry_after=max(retry_after, 1))
            ids = await uow.login_failures.add(hashes, at=now)
            await uow.commit()
        return Attempt(tuple(hashes), tuple(ids))

    async def succeeded(self, attempt: Attempt, *, forget: str) -> None:
        """The attempt proved right: it is no failure, and the failures of the key ``forget`` (its email)
        are forgotten too. The other keys (its client address) keep their earlier failures."""
        forgotten = self._hash(forget)
        async with self._new_unit_of_work() as uow:
            await uow.login_failures.lock({*attempt.key_hashes, forgotten})
            await uow.login_failures.remove(attempt.failure_ids)
            await uow.login_failures.clear(forgotten)
            await uow.commit()

    def _hash(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()


def client_key(address: str) -> str:
    """The throttling key of a client address: one spelling per address, and one key per IPv6 /64.

    An IPv4 address arriving IPv4-mapped (``::ffff:10.0.0.1``) counts as itself, and an IPv6 client counts
    by its /64, the block one subscriber is given: it could otherwise take a fresh address for every guess.
    Anything that is not an address (a test client's name) is its own key.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"client:{address}"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"client:{parsed.ipv4_mapped}"
        return f"client:{ipaddress.IPv6Network((parsed, 64), strict=False)}"
    return f"client:{parsed}"
