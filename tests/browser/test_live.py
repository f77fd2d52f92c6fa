"""Two people in one workspace, each in a browser of their own: what one does appears to the other live,
without a reload."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage, Screenshot
from tests.browser.pages import messages, open_conversation, send
from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.teams import add_member, create_workspace

pytestmark = pytest.mark.e2e


async def test_one_person_posts_and_the_other_sees_it_live(
    api: httpx.AsyncClient,
    web_server: ServerProcess,
    open_page: OpenPage,
    screenshot: Screenshot,
) -> None:
    alice = await sign_up(api, name="Alice Moreau")
    bob = await sign_up(api, name="Bob Okafor")
    workspace = await create_workspace(alice, "Product")
    await add_member(alice, workspace["id"], bob, "editor")
    conversation = await create_conversation(alice, workspace["id"], title="Launch plan")
    await post_message(alice, conversation["id"], "Morning! Shall we go over the launch?")
    alice_page, bob_page = await open_page(web_server.url), await open_page(web_server.url)
    await open_conversation(alice_page, alice, conversation)
    await open_conversation(bob_page, bob, conversation)

    await send(alice_page, "The landing page is ready for review.")
    await expect(messages(bob_page)).to_have_text(
        ["Morning! Shall we go over the launch?", "The landing page is ready for review."]
    )
    await send(bob_page, "Looks great, shipping it.")
    await post_message(alice, conversation["id"], "Posted from Alice's phone")

    expected = [
        "Morning! Shall we go over the launch?",
        "The landing page is ready for review.",
        "Looks great, shipping it.",
        "Posted from Alice's phone",
    ]
    await expect(messages(alice_page)).to_have_text(expected)
    await expect(messages(bob_page)).to_have_text(expected)
    await screenshot(bob_page, "conversation")


async def test_changes_to_workspaces_and_conversations_appear_without_a_reload(
    api: httpx.AsyncClient, web_server: ServerProcess, open_page: OpenPage
) -> None:
    alice = await sign_up(api, name="Alice")
    bob = await sign_up(api, name="Bob")
    workspace = await create_workspace(alice, "Design")
    await add_member(alice, workspace["id"], bob, "editor")
    conversation = await create_conversation(alice, workspace["id"], title="Icons")
    page = await open_page(web_server.url)
    await open_conversation(page, bob, conversation)
    sidebar = page.get_by_role("navigation", name="Workspaces and conversations")

    await alice.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "Design team"})
    await alice.patch(f"/v1/conversations/{conversation['id']}", json={"title": "App icons"})
    newer = await create_conversation(alice, workspace["id"], title="Colours")
    await expect(sidebar.get_by_role("heading", name="Design team")).to_be_visible()
    await expect(page.get_by_role("heading", name="App icons")).to_be_visible()
    conversations = sidebar.get_by_role("list", name="Conversations").locator(".name")
    await expect(conversations).to_have_text(["Colours", "App icons"])

    await post_message(alice, conversation["id"], "Bumps it to the top")
    await expect(conversations).to_have_text(["App icons", "Colours"])

    await alice.delete(f"/v1/conversations/{newer['id']}")
    await expect(conversations).to_have_text(["App icons"])
    await alice.delete(f"/v1/workspaces/{workspace['id']}")
    await expect(page.get_by_text("Design team was deleted.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Welcome to Threadline")).to_be_visible()
