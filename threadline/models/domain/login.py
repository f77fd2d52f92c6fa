"""What login throttling knows of a key (an email, a client address): its recent failures."""

from __future__ import annotations

from datetime import datetime

from threadline.models.domain.base import DomainModel


class FailureCount(DomainModel):
    """Failed logins of one key within the window: how many, and when the oldest of them was."""

    count: int
    oldest: datetime
