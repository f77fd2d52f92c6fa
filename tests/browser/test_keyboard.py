"""The app works from the keyboard alone: sign in, reach a conversation, post, and open and close a dialog
with focus given back to what opened it."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import OpenPage
from tests.browser.pages import composer, connection, messages
from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation
from tests.support.server import ServerProcess
from tests.support.teams import create_workspace

pytestmark = pytest.mark.e2e

MAX_TABS = 40


async def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has focus: it is reachable from the keyboard."""
    for _ in range(MAX_TABS):
        if await target.evaluate("element => element === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} is not reached with {MAX_TABS} presses of Tab")


async def test_sign_in_open_a_conversation_and_post_with_the_keyboard(
    api: httpx.AsyncClient, web_server: ServerProcess, open_page: OpenPage
) -> None:
    alice = await sign_up(api, name="Alice")
    workspace = await create_workspace(alice, "Keys")
    await create_conversation(alice, workspace["id"], title="Shortcuts")
    page = await open_page(web_server.url)
    await page.goto("/app")

    await expect(page.get_by_label("Email", exact=True)).to_be_focused()
    await page.keyboard.type(alice.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(alice.password)
    await page.keyboard.press("Enter")
    await expect(connection(page)).to_have_text("Live")

    await tab_to(page, page.get_by_role("link", name="Shortcuts"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Shortcuts")).to_be_visible()
    await tab_to(page, composer(page))
    await page.keyboard.type("Typed without a mouse")
    await page.keyboard.press("Enter")
    await expect(messages(page)).to_have_text(["Typed without a mouse"])

    members = page.get_by_role("button", name="Members")
    await tab_to(page, members)
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Members of Keys")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(members).to_be_focused()
