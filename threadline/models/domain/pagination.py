"""Pages of results, and the opaque keyset cursors that walk them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from threadline.errors import StaleCursor, ValidationFailed

T = TypeVar("T")

SNAPSHOT_LIFETIME = timedelta(hours=1)
"""How long a walk through a list that keeps its snapshot (the conversations) may take: its cursor is
refused after this (``StaleCursor``), and the client starts again from the first page."""

_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of this process's clock another process's snapshot may have been taken."""


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is ``None`` on the last."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None


def _in_utc(value: datetime) -> datetime:
    """Offsets near the ends of the calendar cannot be moved to UTC; such a cursor is malformed, not a 500."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a time that exists in UTC") from None


class Cursor(BaseModel):
    """A position in a list ordered by ``(at, id)`` descending: the last item of the previous page.

    Clients see it only as an opaque string; decoding it is validation, so a bad one is a 422.
    """

    # Strict: a time must be written as one, not as a number of seconds that happens to parse.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    at: Annotated[AwareDatetime, AfterValidator(_in_utc)]
    id: UUID
    of: str | None = None
    """The list it belongs to: a cursor of one list is malformed in another. (Cursors made before this
    was recorded have none, and are taken anywhere.)"""
    as_of: Annotated[int, Field(ge=0)] | None = None
    """For a list walked as of one snapshot (the conversations): the newest event id when the walk began."""
    taken: Annotated[AwareDatetime, AfterValidator(_in_utc)] | None = None
    """When that snapshot was taken."""

    def encode(self) -> str:
        fields: dict[str, object] = {"at": self.at.isoformat(), "id": str(self.id), "of": self.of}
        if self.as_of is not None and self.taken is not None:
            fields |= {"as_of": self.as_of, "taken": self.taken.isoformat()}
        raw = json.dumps(fields, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def require_list(self, name: str) -> None:
        """Refuse this cursor in any list but ``name``, the one that made it."""
        if self.of is not None and self.of != name:
            raise ValidationFailed("Malformed cursor: it belongs to another list", loc=("query", "cursor"))

    def snapshot(self, list_name: str, *, now: datetime, newest_event_id: int) -> Snapshot:
        """The snapshot this cursor's walk through ``list_name`` reads as of; ``StaleCursor`` when it cannot
        be read any more (older than ``SNAPSHOT_LIFETIME``, made before walks kept snapshots, or by another
        database)."""
        self.require_list(list_name)
        if self.as_of is None or self.taken is None:
            raise StaleCursor("The cursor is from a walk begun before this version: start again")
        if not now - SNAPSHOT_LIFETIME <= self.taken <= now + _CLOCK_SKEW:
            raise StaleCursor("The cursor has expired: start again from the first page")
        if self.as_of > newest_event_id:
            raise StaleCursor("The cursor is not from this server: start again from the first page")
        return Snapshot(event_id=self.as_of, taken=self.taken)

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        """The position a list request asks for: ``None`` (the first page) when it sent no cursor."""
        return cls.decode(token) if token else None

    @classmethod
    def decode(cls, token: str) -> Cursor:
        # Bad base64, bad JSON and a bad shape all surface as ValueError (ValidationError is one).
        try:
            return cls.model_validate_json(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:
            raise ValidationFailed("Malformed cursor", loc=("query", "cursor")) from None


class Snapshot(BaseModel):
    """The moment a walk through a list reads as of: the newest event id then, and when it was."""

    model_config = ConfigDict(frozen=True)

    event_id: int
    taken: datetime


class MessageWindow(BaseModel, Generic[T]):
    """A slice of one conversation's messages by ``seq``, always oldest first."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    has_more: bool
