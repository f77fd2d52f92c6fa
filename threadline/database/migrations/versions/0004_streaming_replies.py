"""Replies that stream: a message's ``status``, and the stream and chunks of a reply being written.

Every message stored before this revision is ``complete``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 15:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), server_default="complete", nullable=False))
    op.create_table(
        "message_streams",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("last_delta_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index(op.f("ix_message_streams_last_delta_at"), "message_streams", ["last_delta_at"])
    op.create_table(
        "message_chunks",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message_streams.message_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "start"),
    )


def downgrade() -> None:
    op.drop_table("message_chunks")
    op.drop_index(op.f("ix_message_streams_last_delta_at"), table_name="message_streams")
    op.drop_table("message_streams")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("status")
