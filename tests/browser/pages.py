"""What a person does in the web app, in Playwright terms, for the browser tests."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

from tests.support.accounts import Account


async def sign_in(page: Page, account: Account, route: str = "") -> None:
    """Sign in through the form (at ``route``, e.g. ``#/w/<id>/c/<id>``) and wait for the live stream."""
    await page.goto(f"/app{route}")
    await page.get_by_label("Email", exact=True).fill(account.email)
    await page.get_by_label("Password", exact=True).fill(account.password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(connection(page)).to_have_text("Live")


def conversation_route(conversation: dict[str, object]) -> str:
    return f"#/w/{conversation['workspace_id']}/c/{conversation['id']}"


async def open_conversation(page: Page, account: Account, conversation: dict[str, object]) -> None:
    await sign_in(page, account, conversation_route(conversation))
    await expect(page.get_by_role("heading", name=str(conversation["title"]))).to_be_visible()


async def confirm(page: Page, question: str, answer: str) -> None:
    """Press ``answer`` in the dialog that asks ``question``."""
    await page.get_by_role("dialog", name=question).get_by_role("button", name=answer, exact=True).click()


def connection(page: Page) -> Locator:
    """The live stream's state, as the top bar shows it: "Live" or "Reconnecting…"."""
    return page.locator(".connection")


def composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message")


async def send(page: Page, text: str) -> None:
    await composer(page).fill(text)
    await composer(page).press("Enter")


def messages(page: Page) -> Locator:
    return page.get_by_role("list", name="Messages").locator(".message .content")


def message(page: Page, message_id: object) -> Locator:
    return page.locator(f'.message[data-id="{message_id}"]')
