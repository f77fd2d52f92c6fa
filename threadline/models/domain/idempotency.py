"""What an ``Idempotency-Key`` remembers: the body it was first used with, and the answer given."""

from __future__ import annotations

from typing import Any

from threadline.models.domain.base import DomainModel


class StoredRequest(DomainModel):
    request_hash: str
    response: dict[str, Any] | None
    """``None`` while the request that claimed the key has not committed."""
