"""The opaque pagination cursor: it round-trips, and anything not made by us is a validation error."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from threadline.errors import ValidationFailed
from threadline.models.domain.pagination import Cursor


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def test_a_cursor_round_trips_through_its_token() -> None:
    cursor = Cursor(at=datetime(2026, 11, 26, 14, 3, 5, 123456, tzinfo=UTC), id=uuid4())

    token = cursor.encode()

    assert Cursor.decode(token) == cursor
    assert token.isascii()
    assert not set(token) & set("+/=")


def test_a_cursor_with_another_offset_is_read_as_utc() -> None:
    token = _token({"at": "2026-11-26T16:03:05+02:00", "id": str(uuid4())})

    assert Cursor.decode(token).at == datetime(2026, 11, 26, 14, 3, 5, tzinfo=UTC)
    assert Cursor.decode(token).at.utcoffset() == timedelta(0)


ZERO_ID = str(UUID(int=0))
MALFORMED = {
    "random text": "this is not a cursor!",
    "not ascii": "curs\u00f6r",
    "base64 of garbage": base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
    "base64 of a json list": _token([1, 2]),
    "base64 of a json string": _token("2026-11-26T14:03:05Z"),
    "missing id": _token({"at": "2026-11-26T14:03:05Z"}),
    "id not a uuid": _token({"at": "2026-11-26T14:03:05Z", "id": "nope"}),
    "at not a datetime": _token({"at": "yesterday", "id": ZERO_ID}),
    "naive datetime": _token({"at": "2026-11-26T14:03:05", "id": ZERO_ID}),
    "at a number of seconds": _token({"at": 1, "id": ZERO_ID}),
    "list not a string": _token({"at": "2026-11-26T14:03:05Z", "id": ZERO_ID, "of": 1}),
    "past the end of time in utc": _token({"at": "9999-12-31T23:00:00-05:00", "id": ZERO_ID}),
    "before the start of time in utc": _token({"at": "0001-01-01T00:30:00+05:00", "id": ZERO_ID}),
    "unknown field": _token({"at": "2026-11-26T14:03:05Z", "id": ZERO_ID, "admin": True}),
    "very long": "A" * 100_000,
}


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_cursor_is_a_validation_error(token: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        Cursor.decode(token)

    assert raised.value.loc == ("query", "cursor")


def test_a_cursor_belongs_to_the_list_that_made_it() -> None:
    cursor = Cursor.decode(Cursor(at=datetime.now(UTC), id=uuid4(), of="memberships").encode())

    cursor.require_list("memberships")
    with pytest.raises(ValidationFailed):
        cursor.require_list("workspaces")


def test_a_cursor_made_before_lists_were_named_is_taken_by_any() -> None:
    Cursor.decode(_token({"at": "2026-11-26T14:03:05Z", "id": ZERO_ID})).require_list("workspaces")


def test_a_cursor_refuses_a_naive_datetime_when_built() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Cursor(at=datetime(2026, 11, 26), id=uuid4())


def test_a_cursor_keeps_utc_when_built_from_another_offset() -> None:
    at = datetime(2026, 11, 26, 16, tzinfo=timezone(timedelta(hours=2)))

    assert Cursor(at=at, id=uuid4()).at.tzinfo is UTC
