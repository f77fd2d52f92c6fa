"""Throw-away PostgreSQL databases, so a benchmark on PostgreSQL starts empty and leaves nothing behind."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

CONNECT_TIMEOUT = 10.0


@contextlib.asynccontextmanager
async def throwaway_database(admin_dsn: str, prefix: str = "bench") -> AsyncIterator[str]:
    """Create a database beside ``admin_dsn``'s for the block and drop it afterwards.

    Yields its SQLAlchemy URL (``postgresql+asyncpg://…``), as ``THREADLINE_DATABASE_URL`` wants it.
    ``WITH (FORCE)`` ends connections a crashed server may have left.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_dsn.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(admin_dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_dsn, timeout=CONNECT_TIMEOUT)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
