"""Fixtures for the client's tests: real ``threadline serve`` processes, and people signed in to them
through the client itself."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import ServerProcess
from threadline_client import AsyncThreadline, Conversation, Workspace

PASSWORD = "correct horse battery"
QUICK_RETRY_MS = 50
"""The servers' ``retry:`` advice: short, so that reconnects (which honour it) keep the tests quick."""
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    """One server on SQLite for a module's tests."""
    workdir = tmp_path_factory.mktemp("client")
    server = ServerProcess(sqlite_url(workdir), workdir, sse_retry_ms=QUICK_RETRY_MS)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory}/threadline.db"


async def sign_up(url: str, name: str = "Alice", **options: object) -> AsyncThreadline:
    """A new account, signed in on a client of its own (``options`` go to the client)."""
    client = AsyncThreadline(url, **options)  # type: ignore[arg-type]
    email = f"{name.lower()}{next(_numbers)}@example.com"
    await client.register(email=email, password=PASSWORD, name=name)
    await client.login(email=email, password=PASSWORD)
    return client


@pytest.fixture
async def alice(server: ServerProcess) -> AsyncIterator[AsyncThreadline]:
    client = await sign_up(server.url)
    async with client:
        yield client


@dataclass(frozen=True)
class Place:
    """A workspace and a conversation in it, owned by the person who made them."""

    workspace: Workspace
    conversation: Conversation


async def make_place(client: AsyncThreadline) -> Place:
    workspace = await client.create_workspace(name="Team")
    conversation = await client.create_conversation(workspace.id, title="Talk")
    return Place(workspace, conversation)


@pytest.fixture
async def place(alice: AsyncThreadline) -> Place:
    """Alice's workspace and a conversation in it."""
    return await make_place(alice)
