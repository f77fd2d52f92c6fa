"""Login failures in the database, so that throttling counts the failures seen by every process.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 11:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_login_failures_key", "login_failures", ["key_hash", "failed_at"], unique=False)
    op.create_index(op.f("ix_login_failures_failed_at"), "login_failures", ["failed_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failures_failed_at"), table_name="login_failures")
    op.drop_index("ix_login_failures_key", table_name="login_failures")
    op.drop_table("login_failures")
