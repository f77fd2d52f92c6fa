"""The server is killed (SIGKILL) and started again mid-conversation: the page reconnects on its own,
resumes the stream from the last event it applied, and shows every message exactly once, those posted
while it was away included. A message sent while the server was down is sent again by the person, once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage, Screenshot
from tests.browser.pages import composer, connection, messages, open_conversation, send
from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.teams import add_member, create_workspace

pytestmark = pytest.mark.e2e

STREAM_TOKEN_TTL = 2


async def test_the_page_resumes_after_a_crash_and_shows_every_message_once(
    tmp_path: Path, open_page: OpenPage, screenshot: Screenshot
) -> None:
    # Stream tokens that expire within the test: the page renews them, and reconnects with a fresh one.
    server = ServerProcess(
        f"sqlite+aiosqlite:///{tmp_path}/threadline.db", tmp_path, stream_token_ttl_seconds=STREAM_TOKEN_TTL
    )
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
            alice = await sign_up(api, name="Alice")
            bob = await sign_up(api, name="Bob")
            workspace = await create_workspace(alice, "Operations")
            await add_member(alice, workspace["id"], bob, "editor")
            conversation = await create_conversation(alice, workspace["id"], title="Incident 42")
            expected = ["before #1", "before #2"]
            for text in expected:
                await post_message(bob, conversation["id"], text)
            page = await open_page(server.url)
            await open_conversation(page, alice, conversation)
            await expect(messages(page)).to_have_text(expected)

            await server.kill()
            await expect(connection(page)).to_have_text("Reconnecting…")
            await send(page, "sent while the server was down")
            await expect(page.get_by_role("alert")).to_contain_text("Not sent")
            await screenshot(page, "reconnecting")

            await server.start()
            # Posted before the page is back (it retries every few seconds): heard on resuming.
            for text in ("after #1", "after #2", "after #3"):
                await post_message(bob, conversation["id"], text)
                expected.append(text)
            await expect(connection(page)).to_have_text("Live")
            await expect(messages(page)).to_have_text(expected)

            await expect(composer(page)).to_have_value("sent while the server was down")
            await page.get_by_role("button", name="Send").click()
            expected.append("sent while the server was down")
            await post_message(bob, conversation["id"], "live again")
            expected.append("live again")
            await expect(messages(page)).to_have_text(expected)

            stored = (await alice.get(f"/v1/conversations/{conversation['id']}/messages")).json()["items"]
            assert [item["content"] for item in stored] == expected
    finally:
        await server.stop()
