"""A page away for longer than the events are kept gets ``reset`` when it resumes, and reloads what it
shows over REST: the messages whose events were pruned while it was away appear."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route, expect

from tests.browser.conftest import OpenPage
from tests.browser.pages import connection, messages, open_conversation
from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.sse import StreamClosed, open_stream
from tests.support.teams import create_workspace
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

SECONDS_PER_DAY = 86_400
KEPT_SECONDS = 1.0


async def test_a_page_resumed_past_the_kept_events_reloads_what_it_shows(
    tmp_path: Path, open_page: OpenPage
) -> None:
    server = ServerProcess(
        f"sqlite+aiosqlite:///{tmp_path}/threadline.db",
        tmp_path,
        event_retention_days=KEPT_SECONDS / SECONDS_PER_DAY,
        event_prune_interval_seconds=0.2,
    )
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
            alice = await sign_up(api, name="Alice")
            workspace = await create_workspace(alice)
            conversation = await create_conversation(alice, workspace["id"], title="Away")
            await post_message(alice, conversation["id"], "seen live")
            page = await open_page(server.url)
            await open_conversation(page, alice, conversation)
            await expect(messages(page)).to_have_text(["seen live"])

            async def refuse(route: Route) -> None:
                await route.abort()

            # The page is cut off: its stream ends with the server, and it cannot reconnect until let back.
            await page.route("**/v1/events?*", refuse)
            await server.kill()
            await expect(connection(page)).to_have_text("Reconnecting…")
            await server.start()
            newest = await newest_event_id(alice)
            await post_message(alice, conversation["id"], "pruned while away")
            await eventually(lambda: pruned_since(alice, newest), within=15)
            await post_message(alice, conversation["id"], "kept")

            await page.unroute("**/v1/events?*", refuse)
            await expect(connection(page)).to_have_text("Live")
            await expect(messages(page)).to_have_text(["seen live", "pruned while away", "kept"])
    finally:
        await server.stop()


async def newest_event_id(account: Account) -> str:
    async with open_stream(account.client, "/v1/events", headers=account.headers) as stream:
        return str(stream.ready.json()["last_event_id"])


async def pruned_since(account: Account, event_id: str) -> bool:
    """The events after ``event_id`` are no longer kept: resuming from it answers ``reset``.

    A stream that ends before its first event (the pruner caught up with its replay) answers nothing yet:
    ask again."""
    resume = account.headers | {"Last-Event-ID": event_id}
    async with open_stream(account.client, "/v1/events", headers=resume) as stream:
        try:
            return (await stream.next()).event == "reset"
        except StreamClosed:
            return False
