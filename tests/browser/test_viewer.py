"""A viewer reads and follows a conversation but cannot post: the page offers no composer and the API
refuses; when the owner makes them an editor, the composer appears without a reload."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE, OpenPage, Screenshot
from tests.browser.pages import composer, messages, open_conversation, send
from tests.support.accounts import sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.teams import add_member, create_workspace

pytestmark = pytest.mark.e2e


async def test_a_viewer_cannot_post_until_made_an_editor(
    api: httpx.AsyncClient,
    web_server: ServerProcess,
    open_page: OpenPage,
    screenshot: Screenshot,
) -> None:
    owner = await sign_up(api, name="Olivia Owner")
    viewer = await sign_up(api, name="Victor Viewer")
    workspace = await create_workspace(owner, "Support")
    await add_member(owner, workspace["id"], viewer, "viewer")
    conversation = await create_conversation(owner, workspace["id"], title="Escalations")
    await post_message(owner, conversation["id"], "Ticket 4411 needs a call back")
    page = await open_page(web_server.url, PHONE)
    await open_conversation(page, viewer, conversation)

    await expect(page.get_by_role("note")).to_have_text(
        "You are a viewer in this workspace: you can read and follow along, but not post."
    )
    await expect(composer(page)).to_have_count(0)
    for action in ("Rename", "Delete", "Edit message from Olivia Owner"):
        await expect(page.get_by_role("button", name=action)).to_have_count(0)
    await post_message(owner, conversation["id"], "Called back, resolved")
    await expect(messages(page)).to_have_text(["Ticket 4411 needs a call back", "Called back, resolved"])
    await screenshot(page, "viewer-phone")
    refused = await viewer.post(f"/v1/conversations/{conversation['id']}/messages", json={"content": "Hi"})
    assert refused.status_code == 403

    await owner.patch(f"/v1/workspaces/{workspace['id']}/members/{viewer.id}", json={"role": "editor"})
    await send(page, "Thanks, I can write now")
    await expect(messages(page)).to_have_text(
        ["Ticket 4411 needs a call back", "Called back, resolved", "Thanks, I can write now"]
    )
