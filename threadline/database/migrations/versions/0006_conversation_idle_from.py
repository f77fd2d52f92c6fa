"""Conversations remember when their last idle period began, so a list walk can place one that wakes up.

A walk through a workspace's conversations orders them by their activity as of the walk's first page. For
a conversation active since then, that activity is read from the event log; ``idle_from`` keeps it for one
whose events have been pruned since (it had been idle for longer than the retention): it is the
``last_active_at`` a change found when the conversation had been idle for hours.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("idle_from", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("idle_from")
