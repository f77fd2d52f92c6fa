"""Pages of results, and the opaque keyset cursors that walk them."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from threadline.errors import ValidationFailed

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None


class Cursor(BaseModel):
    """A position in a list ordered by ``(at, id)`` descending: the last item of the previous page.

    Clients see it only as an opaque string; decoding it is validation, so a bad one is a 422.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    id: UUID

    def encode(self) -> str:
        raw = json.dumps({"at": self.at.isoformat(), "id": str(self.id)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            cursor = cls.model_validate_json(raw)
        except (binascii.Error, ValueError, ValidationError):
            raise ValidationFailed("Malformed cursor", loc=("query", "cursor")) from None
        if cursor.at.tzinfo is None:
            raise ValidationFailed("Malformed cursor", loc=("query", "cursor"))
        return cursor


class MessageWindow(BaseModel, Generic[T]):
    """A slice of one conversation's messages by ``seq``, always oldest first."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    has_more: bool
