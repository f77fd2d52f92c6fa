"""Conversations and messages through the page: create one with a modality, rename it, post, edit and
delete messages, page back through history with ``before``, and delete the conversation."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.pages import confirm, messages, open_conversation, send, sign_in
from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.teams import create_workspace

pytestmark = pytest.mark.e2e

HISTORY = 75
PAGE_SIZE = 50


async def test_create_rename_and_delete_a_conversation_and_its_messages(
    api: httpx.AsyncClient, web_server: ServerProcess, open_page: OpenPage
) -> None:
    alice = await sign_up(api, name="Alice")
    workspace = await create_workspace(alice, "Studio")
    page = await open_page(web_server.url)
    await sign_in(page, alice, f"#/w/{workspace['id']}")

    await page.get_by_role("button", name="+ New conversation").click()
    await page.get_by_label("Title", exact=True).fill("Voice notes")
    await page.get_by_label("Modality").select_option("voice")
    await page.get_by_role("button", name="Create", exact=True).click()
    header = page.locator(".conversation-head")
    await expect(header.get_by_role("heading", name="Voice notes")).to_be_visible()
    await expect(header.get_by_text("voice", exact=True)).to_be_visible()
    await header.get_by_role("button", name="Rename").click()
    await page.get_by_label("Title", exact=True).fill("Voice memos")
    await page.get_by_role("button", name="Save").click()
    await expect(header.get_by_role("heading", name="Voice memos")).to_be_visible()

    await send(page, "first")
    await send(page, "secnod")
    await expect(messages(page)).to_have_text(["first", "secnod"])
    await page.get_by_role("button", name="Edit message from Alice").last.click()
    await page.get_by_role("textbox", name="Edit message").fill("second")
    await page.get_by_role("button", name="Save").click()
    await expect(messages(page)).to_have_text(["first", "second"])
    await expect(page.get_by_text("(edited)")).to_be_visible()
    await page.get_by_role("button", name="Delete message from Alice").first.click()
    await confirm(page, "Delete this message?", "Delete")
    await expect(messages(page)).to_have_text(["second"])
    (conversation,) = (await alice.get(f"/v1/workspaces/{workspace['id']}/conversations")).json()["items"]
    stored = (await alice.get(f"/v1/conversations/{conversation['id']}/messages")).json()["items"]
    assert (conversation["title"], conversation["modality"]) == ("Voice memos", "voice")
    assert [message["content"] for message in stored] == ["second"]

    await header.get_by_role("button", name="Delete").click()
    await confirm(page, "Delete this conversation?", "Delete conversation")
    await expect(page.get_by_role("heading", name="No conversation open")).to_be_visible()
    await expect(page.get_by_role("list", name="Conversations")).to_have_text("No conversations yet.")
    assert (await alice.get(f"/v1/conversations/{conversation['id']}")).status_code == 404


async def test_history_pages_back_with_before(
    api: httpx.AsyncClient, web_server: ServerProcess, open_page: OpenPage
) -> None:
    alice = await sign_up(api, name="Alice")
    conversation = await create_conversation(
        alice, (await create_workspace(alice))["id"], title="A long conversation"
    )
    texts = [f"message {n}" for n in range(HISTORY)]
    for text in texts:
        await post_message(alice, conversation["id"], text)
    page = await open_page(web_server.url)
    await open_conversation(page, alice, conversation)

    await expect(messages(page)).to_have_text(texts[-PAGE_SIZE:])
    await page.get_by_role("button", name="Load earlier messages").click()
    await expect(messages(page)).to_have_text(texts)
    await expect(page.get_by_role("button", name="Load earlier messages")).to_be_hidden()
