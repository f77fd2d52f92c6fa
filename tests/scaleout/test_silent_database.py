"""PostgreSQL gone silent (a partition, a dead NAT entry, a frozen server): nothing refuses and nothing
closes, so only a timeout notices. Requests answer 503 ``unavailable`` within
``THREADLINE_DATABASE_TIMEOUT_SECONDS`` or so, never hang, and all heals when the database answers again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.problems import assert_problem
from tests.support.proxy import TcpProxy
from tests.support.waiting import until_ready
from threadline.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]

TIMEOUT = 1.0
#: Far more than a request needs with the timeout above, far less than "forever": a hang fails the test.
PATIENCE = 20 * TIMEOUT


@pytest.fixture
async def database_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    async with TcpProxy.in_front_of(database_url) as proxy:
        yield proxy


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_proxy: TcpProxy) -> Settings:
    return make_settings(database_url=database_proxy.url, database_timeout_seconds=TIMEOUT)


async def test_requests_answer_503_while_the_database_is_silent_and_work_again_after(
    client: httpx.AsyncClient, alice: Account, database_proxy: TcpProxy
) -> None:
    created = await alice.post("/v1/workspaces", json={"name": "Before"})
    assert created.status_code == 201, created.text
    workspace: dict[str, Any] = created.json()

    database_proxy.partition()
    async with asyncio.timeout(PATIENCE):
        assert_problem(await alice.get("/v1/users/me"), 503, "unavailable")
        renamed = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "During"})
        assert_problem(renamed, 503, "unavailable")
        ready = await client.get("/ready")
        assert (ready.status_code, ready.json()["database"]) == (503, "unavailable")

    database_proxy.restore()
    await until_ready(client)
    renamed = await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "After"})
    assert renamed.status_code == 200, renamed.text
    assert (await alice.get(f"/v1/workspaces/{workspace['id']}")).json()["name"] == "After"


async def test_posts_answer_503_while_the_database_is_silent(
    alice: Account, database_proxy: TcpProxy
) -> None:
    """Posts go through the message appender's batches rather than a unit of work of their own; that the posts
    queued behind a failed batch fail with it is checked in tests/database/test_message_appender.py."""
    created = await alice.post("/v1/workspaces", json={"name": "Team"})
    conversation = await create_conversation(alice, created.json()["id"])
    path = f"/v1/conversations/{conversation['id']}/messages"

    database_proxy.partition()
    async with asyncio.timeout(PATIENCE):
        answers = await asyncio.gather(*(alice.post(path, json={"content": f"m{n}"}) for n in range(300)))

    for answer in answers:
        assert_problem(answer, 503, "unavailable")
