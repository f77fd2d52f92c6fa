"""An assistant's reply, streamed through the API by a test helper (docs/streaming.md), grows on screen
delta by delta, and the stop button cancels it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage, Screenshot
from tests.browser.pages import message, open_conversation
from tests.support.accounts import Account, sign_up
from tests.support.conversations import create_conversation, post_message
from tests.support.server import ServerProcess
from tests.support.teams import add_member, create_workspace

pytestmark = pytest.mark.e2e


class StreamedReply:
    """An assistant writing one reply: started streaming, then grown by deltas at the stored length."""

    def __init__(self, assistant: Account, conversation_id: str) -> None:
        self.assistant = assistant
        self.conversation_id = conversation_id
        self.text = ""
        self.message: dict[str, Any] = {}

    @property
    def path(self) -> str:
        return f"/v1/conversations/{self.conversation_id}/messages/{self.message['id']}"

    async def start(self) -> None:
        response = await self.assistant.post(
            f"/v1/conversations/{self.conversation_id}/messages",
            json={"role": "assistant", "status": "streaming", "content": ""},
        )
        assert response.status_code == 201, response.text
        self.message = response.json()

    async def append(self, text: str) -> httpx.Response:
        delta = {"offset": len(self.text), "text": text}
        response = await self.assistant.post(f"{self.path}/deltas", json=delta)
        if response.status_code == 200:
            self.text += text
        return response


async def test_a_streamed_reply_grows_on_screen_and_stops_on_the_stop_button(
    api: httpx.AsyncClient,
    web_server: ServerProcess,
    open_page: OpenPage,
    screenshot: Screenshot,
) -> None:
    person = await sign_up(api, name="Grace Hopper")
    assistant = await sign_up(api, name="Assistant")
    workspace = await create_workspace(person, "Lab")
    await add_member(person, workspace["id"], assistant, "editor")
    conversation = await create_conversation(person, workspace["id"], title="Ask the assistant")
    await post_message(person, conversation["id"], "Explain event sourcing in one paragraph.")
    page = await open_page(web_server.url)
    await open_conversation(page, person, conversation)

    reply = StreamedReply(assistant, conversation["id"])
    await reply.start()
    shown = message(page, reply.message["id"])
    await expect(shown).to_have_attribute("data-status", "streaming")
    # Offsets count code points, as Python does: the emoji is one, though two UTF-16 units in JavaScript.
    for piece in ("Event sourcing 🗂️ ", "stores every change "):
        assert (await reply.append(piece)).status_code == 200
        await expect(shown.locator(".content")).to_have_text(reply.text)
    # Opened mid-reply: it reads the text so far over REST and applies the deltas that follow.
    late_page = await open_page(web_server.url)
    await open_conversation(late_page, person, conversation)
    late = message(late_page, reply.message["id"])
    for piece in ("as an event, ", "and the state ", "is their sum"):
        assert (await reply.append(piece)).status_code == 200
        await expect(shown.locator(".content")).to_have_text(reply.text)
        await expect(late.locator(".content")).to_have_text(reply.text)
    await screenshot(page, "streaming-reply")

    await shown.get_by_role("button", name="Stop").click()
    await expect(shown).to_have_attribute("data-status", "cancelled")
    await expect(shown.get_by_text("stopped")).to_be_visible()
    await expect(shown.get_by_role("button", name="Stop")).to_have_count(0)
    stored = (await assistant.get(reply.path)).json()
    assert stored["status"] == "cancelled"
    assert stored["content"] == reply.text
    assert (await reply.append(" and more")).status_code == 409
    await expect(shown.locator(".content")).to_have_text(reply.text)
    await expect(late).to_have_attribute("data-status", "cancelled")
