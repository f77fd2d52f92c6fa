"""Which sign-ins still work, as this process last heard: checked on every request without a database read.

A sign-in is read from the database the first time this process meets it; after that every process asks
the database once per poll period which of the sign-ins it has met still exist, in one query, so a sign-in
ended anywhere (logout, a new password, account deletion) stops working everywhere within that period, and
at once in the process that ended it. The same poll writes ``last_used_at``, at most once a minute each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unauthenticated
from threadline.models.domain.user import SignIn
from threadline.tasks import cancel_and_wait, repeat_every

logger = logging.getLogger(__name__)

LAST_USED_RESOLUTION = timedelta(minutes=1)
FORGET_UNUSED_AFTER = timedelta(minutes=10)
"""A sign-in unused this long is dropped from memory (its next use reads it again)."""
_IDS_PER_QUERY = 1000
ENDED = "The sign-in has ended: log in again"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Known:
    user_id: UUID
    expires_at: datetime
    used_at: datetime
    """The last request this process saw with it."""
    stored_used_at: datetime
    """``last_used_at`` as this process last wrote or read it."""


class SignInRegistry:
    """One per process, started in the app's lifespan."""

    def __init__(
        self,
        new_unit_of_work: Callable[[], UnitOfWork],
        *,
        poll_seconds: float,
        token_lifetime: timedelta,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._poll_seconds = poll_seconds
        self._token_lifetime = token_lifetime
        """The longest a token lives: a sign-in found gone is refused without a read for that long."""
        self._clock = clock
        self._known: dict[UUID, _Known] = {}
        self._ended: dict[UUID, datetime] = {}
        """Sign-ins found gone, until their tokens would have expired anyway: refused without a read."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sign-in-registry")

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def require_live(self, sign_in_id: UUID, *, user_id: UUID) -> None:
        """Refuse a token whose sign-in has ended (``Unauthenticated``)."""
        now = self._clock()
        known = self._known.get(sign_in_id)
        if known is None:
            if sign_in_id in self._ended:
                raise Unauthenticated(ENDED)
            known = await self._read(sign_in_id, user_id=user_id, now=now)
        if known.user_id != user_id:
            raise Unauthenticated(ENDED)
        known.used_at = max(known.used_at, now)

    def ended(self, sign_in: SignIn) -> None:
        """This process ended ``sign_in``: refuse it at once, without waiting for the poll."""
        self._known.pop(sign_in.id, None)
        self._ended[sign_in.id] = sign_in.expires_at

    def ended_all_of(self, user_id: UUID) -> None:
        """This process ended every sign-in of ``user_id``."""
        for key, known in list(self._known.items()):
            if known.user_id == user_id:
                del self._known[key]
                self._ended[key] = known.expires_at

    async def refresh(self) -> None:
        """One poll: forget the sign-ins that no longer exist, and store when the others were last used."""
        now = self._clock()
        self._ended = {key: until for key, until in self._ended.items() if until > now}
        for key in [key for key, known in self._known.items() if known.used_at < now - FORGET_UNUSED_AFTER]:
            del self._known[key]
        checked = list(self._known)
        if not checked:
            return
        used = [key for key in checked if self._due_for_a_write(self._known[key], now)]
        live: set[UUID] = set()
        async with self._new_unit_of_work() as uow:
            for start in range(0, len(checked), _IDS_PER_QUERY):
                live |= await uow.sign_ins.live_among(checked[start : start + _IDS_PER_QUERY], now=now)
            for start in range(0, len(used), _IDS_PER_QUERY):
                await uow.sign_ins.mark_used(used[start : start + _IDS_PER_QUERY], at=now)
            await uow.commit()
        for key in used:
            if key in self._known:
                self._known[key].stored_used_at = now
        for key in set(checked) - live:
            if (gone := self._known.pop(key, None)) is not None:
                self._ended[key] = gone.expires_at

    async def _read(self, sign_in_id: UUID, *, user_id: UUID, now: datetime) -> _Known:
        async with self._new_unit_of_work() as uow:
            sign_in = await uow.sign_ins.get_live(sign_in_id, now=now)
        if sign_in is None or sign_in.user_id != user_id:
            self._ended[sign_in_id] = now + self._token_lifetime
            raise Unauthenticated(ENDED)
        known = _Known(
            user_id=user_id, expires_at=sign_in.expires_at, used_at=now, stored_used_at=sign_in.last_used_at
        )
        self._known[sign_in_id] = known
        return known

    @staticmethod
    def _due_for_a_write(known: _Known, now: datetime) -> bool:
        return known.used_at > known.stored_used_at and known.stored_used_at <= now - LAST_USED_RESOLUTION

    async def _run(self) -> None:
        await repeat_every(self._poll_seconds, self.refresh, doing="checking the sign-ins in use", log=logger)
