"""The hub ends the streams of API keys that stop working, and only those (API.md §2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from tests.support.accounts import unique_email
from threadline.database.engine import Database
from threadline.database.repositories.api_keys import ApiKeyRepository
from threadline.database.unit_of_work import UnitOfWork
from threadline.events.hub import KEY_REVOKED, StreamHub
from threadline.events.subscription import StreamKind, Subscription
from threadline.models.domain.user import ApiKey


async def _keys(database: Database) -> tuple[UUID, dict[str, ApiKey]]:
    """A user with a working key, a revoked one and an expired one."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        user = await uow.users.add(email=unique_email("keys"), name="Keys", password_hash="-", now=now)
        keys = {
            name: await uow.api_keys.add(
                user_id=user.id, name=name, prefix=name, key_hash=name, now=now, expires_at=expires_at
            )
            for name, expires_at in (
                ("working", None),
                ("revoked", None),
                ("expired", now - timedelta(seconds=1)),
            )
        }
        assert await uow.api_keys.revoke(keys["revoked"].id, user_id=user.id, now=now)
        await uow.commit()
    return user.id, keys


def _hub(database: Database) -> StreamHub:
    return StreamHub(database, encode=lambda event: b"", queue_size=10, poll_seconds=3600)


def _stream(hub: StreamHub, user_id: UUID, key: ApiKey | None) -> Subscription:
    return hub.subscribe(StreamKind.USER, user_id=user_id, topic_id=None, api_key_id=key.id if key else None)


async def test_streams_of_revoked_and_expired_keys_end_and_the_others_do_not(database: Database) -> None:
    user_id, keys = await _keys(database)
    hub = _hub(database)
    streams = {name: _stream(hub, user_id, key) for name, key in keys.items()}
    by_token = _stream(hub, user_id, None)

    await hub.end_streams_of_revoked_credentials()

    assert {name: stream.end_reason for name, stream in streams.items()} == {
        "working": None,
        "revoked": KEY_REVOKED,
        "expired": KEY_REVOKED,
    }
    assert by_token.end_reason is None


async def test_a_key_first_seen_during_a_check_is_left_for_the_next_one(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream opened while the keys are being read was not among them: nothing is known of its key."""
    user_id, keys = await _keys(database)
    hub = _hub(database)
    revoked = _stream(hub, user_id, keys["revoked"])
    opened_meanwhile: list[Subscription] = []
    usable_among = ApiKeyRepository.usable_among

    async def while_reading(repository: ApiKeyRepository, *args: Any, **kwargs: Any) -> set[UUID]:
        opened_meanwhile.append(_stream(hub, user_id, keys["working"]))
        return await usable_among(repository, *args, **kwargs)

    monkeypatch.setattr(ApiKeyRepository, "usable_among", while_reading)
    await hub.end_streams_of_revoked_credentials()

    assert revoked.end_reason == KEY_REVOKED
    assert [stream.end_reason for stream in opened_meanwhile] == [None]
