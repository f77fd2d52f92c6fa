"""Browser fixtures: Debian's chromium driven by Playwright for Python, against real ``threadline serve``
processes on SQLite. Without chromium the browser tests skip, except in CI (``CI=true``), where they fail."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Error, Page, ViewportSize, async_playwright, expect

from tests.support.server import ServerProcess, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP: ViewportSize = {"width": 1200, "height": 760}
PHONE: ViewportSize = {"width": 375, "height": 720}

# Generous for a busy 2-core machine; expectations return as soon as they hold.
expect.set_options(timeout=15_000)

OpenPage = Callable[..., Awaitable[Page]]
Screenshot = Callable[[Page, str], Awaitable[None]]


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # launch() gives each run a fresh, temporary profile.
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
async def web_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    """One server for the browser tests that do not stop it; each test makes its own accounts."""
    workdir = tmp_path_factory.mktemp("web")
    async with running_server(f"sqlite+aiosqlite:///{workdir}/threadline.db", workdir) as server:
        yield server


@pytest.fixture
async def api(web_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    # Idle connections are dropped before uvicorn's 5 s keep-alive closes them: a request sent on one
    # the server is closing at that moment fails with ReadError.
    limits = httpx.Limits(keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=web_server.url, timeout=30, limits=limits) as client:
        yield client


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """Open a page in a browser context of its own (one per person: no shared storage); the test fails if
    any page throws an uncaught error."""
    contexts = []
    errors: list[Error] = []

    def record(error: Error) -> None:
        errors.append(error)

    async def open_page(base_url: str, viewport: ViewportSize = DESKTOP) -> Page:
        context = await browser.new_context(base_url=base_url, viewport=viewport)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", record)
        return page

    yield open_page
    for context in contexts:
        await context.close()
    assert errors == []


@pytest.fixture(scope="session")
def screenshot() -> Screenshot:
    """Save a screen for review in tests/browser/screenshots/ (ignored by git), replacing the last run's."""
    SCREENSHOTS.mkdir(exist_ok=True)

    async def take(page: Page, name: str) -> None:
        await page.screenshot(path=SCREENSHOTS / f"{name}.png")

    return take
