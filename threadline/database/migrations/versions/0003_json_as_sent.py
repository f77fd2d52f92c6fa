"""JSON documents kept as sent on PostgreSQL: ``json`` instead of ``jsonb``.

JSONB keeps a document's value but not its spelling: keys come back sorted, ``-0.0`` as ``0``, and a large
float as an integer written out in full (``1e+300`` as 301 digits), so a client read back something other
than it wrote, and other than SQLite returns. ``json`` keeps the text. Nothing queries inside these
documents, so JSONB's indexing and operators were never used. SQLite keeps JSON as text already: there
this revision does nothing.

On PostgreSQL each table is rewritten under an exclusive lock, for a time that grows with its size.
Documents written before it stay as JSONB had normalised them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_COLUMNS = (
    ("events", "payload"),
    ("idempotency_keys", "response"),
    ("workspaces", "metadata"),
    ("conversations", "metadata"),
    ("messages", "metadata"),
)


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")


def _retype(json_type: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, column in JSON_COLUMNS:
        op.execute(
            f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE {json_type} USING "{column}"::{json_type}'
        )
