"""Accounts, workspaces and members through the page: sign up, sign out and in, create, rename and
delete a workspace, add a member by email, change their role, remove them; a removed member's page
leaves the workspace, and one who leaves disappears from the owner's list, live."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage, Screenshot
from tests.browser.pages import confirm, connection, sign_in
from tests.support.accounts import PASSWORD, Account, sign_up, unique_email
from tests.support.conversations import create_conversation
from tests.support.server import ServerProcess
from tests.support.teams import add_member, create_workspace
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_sign_up_create_a_workspace_and_manage_its_members(
    api: httpx.AsyncClient,
    web_server: ServerProcess,
    open_page: OpenPage,
    screenshot: Screenshot,
) -> None:
    bob = await sign_up(api, name="Bob Okafor")
    email = unique_email("ada")
    page = await open_page(web_server.url)
    await page.goto("/app")
    await screenshot(page, "sign-in")
    await page.get_by_role("tab", name="Create account").click()
    await page.get_by_label("Your name", exact=True).fill("Ada Lovelace")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account", exact=True).click()
    await expect(connection(page)).to_have_text("Live")

    await page.get_by_role("button", name="Create your first workspace").click()
    await page.get_by_label("Name", exact=True).fill("Research")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page.get_by_role("heading", name="Research")).to_be_visible()
    await page.get_by_role("button", name="Rename", exact=True).click()
    await page.get_by_label("Name", exact=True).fill("Research lab")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="Research lab")).to_be_visible()

    await page.get_by_role("button", name="Members").click()
    members = page.get_by_role("dialog", name="Members of Research lab")
    await members.get_by_label("Add by email").fill(bob.email)
    await members.get_by_label("Role", exact=True).select_option("viewer")
    await members.get_by_role("button", name="Add").click()
    role = members.get_by_label("Role of Bob Okafor")
    await expect(role).to_have_value("viewer")
    assert await roles(bob) == [("Research lab", "viewer")]
    await role.select_option("editor")
    await screenshot(page, "members")

    async def bob_is_an_editor() -> bool:
        return await roles(bob) == [("Research lab", "editor")]

    await eventually(bob_is_an_editor, within=15)

    await members.get_by_role("button", name="Remove Bob Okafor").click()
    await confirm(page, "Remove Bob Okafor?", "Remove")
    await expect(members.get_by_text("Bob Okafor")).to_have_count(0)
    assert await roles(bob) == []
    await members.get_by_role("button", name="Close").click()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Conversations that keep up")).to_be_visible()
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Research lab")).to_be_visible()

    await page.get_by_role("button", name="Delete", exact=True).click()
    await confirm(page, "Delete Research lab?", "Delete workspace")
    await expect(page.get_by_role("heading", name="Welcome to Threadline")).to_be_visible()
    await expect(page.get_by_role("link", name="Research lab owner")).to_have_count(0)


async def roles(account: Account) -> list[tuple[str, str]]:
    """The account's workspaces, by name, with its role in each."""
    workspaces = (await account.get("/v1/workspaces")).json()["items"]
    return [(workspace["name"], workspace["role"]) for workspace in workspaces]


async def test_removed_and_leaving_members_are_seen_live(
    api: httpx.AsyncClient, web_server: ServerProcess, open_page: OpenPage
) -> None:
    alice = await sign_up(api, name="Alice")
    bob = await sign_up(api, name="Bob")
    workspace = await create_workspace(alice, "Team")
    await add_member(alice, workspace["id"], bob, "editor")
    conversation = await create_conversation(alice, workspace["id"], title="Plans")
    alice_page, bob_page = await open_page(web_server.url), await open_page(web_server.url)
    await sign_in(alice_page, alice, f"#/w/{workspace['id']}")
    await sign_in(bob_page, bob, f"#/w/{workspace['id']}/c/{conversation['id']}")
    await alice_page.get_by_role("button", name="Members").click()
    members = alice_page.get_by_role("dialog", name="Members of Team")

    await members.get_by_role("button", name="Remove Bob").click()
    await confirm(alice_page, "Remove Bob?", "Remove")
    await expect(bob_page.get_by_text("You are no longer a member of Team.")).to_be_visible()
    await expect(bob_page.get_by_role("heading", name="Welcome to Threadline")).to_be_visible()

    await add_member(alice, workspace["id"], bob, "editor")
    await expect(members.get_by_text("Bob", exact=True)).to_be_visible()
    await bob_page.get_by_role("link", name="Team editor").click()
    await bob_page.get_by_role("button", name="Leave").click()
    await confirm(bob_page, "Leave Team?", "Leave")
    await expect(bob_page.get_by_text("You left Team.")).to_be_visible()
    await expect(members.get_by_text("Bob", exact=True)).to_have_count(0)
