"""Sign-ins: one row per login, named by the tokens it issued, so that they can be revoked.

Tokens issued before this revision name no sign-in and are refused: their holders log in again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_ins_user_created", "sign_ins", ["user_id", "created_at"])
    op.create_index(op.f("ix_sign_ins_expires_at"), "sign_ins", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_ins_expires_at"), table_name="sign_ins")
    op.drop_index("ix_sign_ins_user_created", table_name="sign_ins")
    op.drop_table("sign_ins")
