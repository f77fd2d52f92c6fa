"""Full-text search over message content and conversation titles, kept by triggers in the same transaction.

One ``search_documents`` row per message and per conversation (its title), numbered in the order they
were written (``id``), with the ids a search filters on. On SQLite the words are in an FTS5 table
(``search_index``, tokenizer ``unicode61 remove_diacritics 2``) whose rowid is the document's id; on
PostgreSQL in the document's ``tsvector`` column under a GIN index, built with the text-search
configuration that ``threadline_search_config()`` names (``THREADLINE_SEARCH_LANGUAGE`` at migration
time, ``simple`` by default; ``threadline migrate`` changes it later, see ``docs/search.md``).

Every document of the existing data is built here, oldest first. The downgrade drops it all.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from threadline.database.search_schema import (
    POSTGRES_DOWNGRADE,
    SQLITE_DOWNGRADE,
    postgres_upgrade,
    sqlite_upgrade,
)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _language() -> str:
    return op.get_context().config.get_main_option("threadline.search_language") or "simple"  # type: ignore[union-attr]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in postgres_upgrade(_language()) if postgres else sqlite_upgrade():
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DOWNGRADE if postgres else SQLITE_DOWNGRADE:
        op.execute(statement)
