"""The scaffold's migration, by Alembic's autogenerate against the current head, and its check.

Run as ``python -m threadline.scaffold.autogenerate generate|check ...`` in a fresh interpreter with the
project on ``PYTHONPATH``: it must import the models as the scaffold has just written them.
Both steps work on one scratch SQLite file (``--database``, which the caller throws away): ``generate``
migrates it to the current head, and ``check`` then has only the new revision to apply.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from threadline.database.migrate import downgrade, upgrade
from threadline.database.models import Base
from threadline.database.search_schema import SEARCH_TABLE_PREFIX
from threadline.database.types import UTCDateTime

MIGRATION = '''"""{message}

Revision ID: {revision}
Revises: {down_revision}
Create Date: {created}
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{revision}"
down_revision: str | None = "{down_revision}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


class MigrationMismatch(RuntimeError):
    """The database at head and the models differ in more than the scaffolded table."""


def _not_search(name: str | None, type_: str, _parents: object) -> bool:
    """The search index is raw DDL, not models (as in ``migrations/env.py``)."""
    return not (type_ == "table" and (name or "").startswith(SEARCH_TABLE_PREFIX))


def _render_item(type_: str, obj: Any, _context: Any) -> str | Literal[False]:
    """The UTC column type is written as the plain SQL type it stands for: a migration must not import
    application code that may change after it."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


@contextmanager
def _scratch_database(path: Path) -> Iterator[tuple[str, sqlalchemy.Engine]]:
    """The scratch SQLite file: its async URL for the migrations, and a sync engine to inspect it."""
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        yield f"sqlite+aiosqlite:///{path}", engine
    finally:
        engine.dispose()


def _context(connection: sqlalchemy.Connection) -> MigrationContext:
    opts = {"compare_type": True, "include_name": _not_search, "render_item": _render_item}
    return MigrationContext.configure(connection, opts=opts)


def generate(*, database: Path, table: str, revision: str, down_revision: str, message: str) -> str:
    """The text of a migration from the current head to the models, which must add only ``table``."""
    with _scratch_database(database) as (url, engine):
        upgrade(url)
        with engine.connect() as connection:
            context = _context(connection)
            script = produce_migrations(context, Base.metadata)
    assert script.upgrade_ops is not None
    assert script.downgrade_ops is not None
    others = {_table_of(op) for op in script.upgrade_ops.ops} - {table}
    if others:
        raise MigrationMismatch(f"the models and the migrations disagree already on: {sorted(others)}")
    if script.upgrade_ops.is_empty():
        raise MigrationMismatch(f"the models define no new table {table!r}")
    return MIGRATION.format(
        message=message,
        revision=revision,
        down_revision=down_revision,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        upgrade=_body(render_python_code(script.upgrade_ops, render_item=_render_item)),
        downgrade=_body(render_python_code(script.downgrade_ops, render_item=_render_item)),
    )


def _table_of(op: Any) -> str:
    return str(getattr(op, "table_name", "?"))


def _body(code: str) -> str:
    lines = [line for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]
    return "\n".join(f"    {line.strip()}" if not line.startswith(" ") else line for line in lines)


def check(*, database: Path, table: str, down_revision: str) -> None:
    """Upgrade the scratch database to head: the models match it; down one step: the table is gone; and
    up again. Raises ``MigrationMismatch`` when any of it does not hold."""
    with _scratch_database(database) as (url, engine):
        upgrade(url)
        with engine.connect() as connection:
            differences = compare_metadata(_context(connection), Base.metadata)
            present = table in inspect(connection).get_table_names()
        if differences or not present:
            raise MigrationMismatch(f"at head the models still differ: {differences}")
        downgrade(url, down_revision)
        with engine.connect() as connection:
            if table in inspect(connection).get_table_names():
                raise MigrationMismatch(f"the downgrade left {table!r} behind")
        upgrade(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m threadline.scaffold.autogenerate")
    parser.add_argument("step", choices=["generate", "check"])
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--down-revision", required=True)
    parser.add_argument("--message", default="")
    args = parser.parse_args(argv)
    try:
        if args.step == "generate":
            sys.stdout.write(
                generate(
                    database=args.database,
                    table=args.table,
                    revision=args.revision,
                    down_revision=args.down_revision,
                    message=args.message,
                )
            )
        else:
            check(database=args.database, table=args.table, down_revision=args.down_revision)
    except MigrationMismatch as error:
        print(f"threadline scaffold: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
