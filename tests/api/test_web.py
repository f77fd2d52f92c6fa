"""The web app's files as served: the page revalidated on every load, its versioned assets cached for
good, and every answer under /app with a strict content security policy."""

from __future__ import annotations

import re

import httpx

from threadline.api.web import CONTENT_SECURITY_POLICY


async def test_the_page_is_revalidated_and_answers_304_while_unchanged(client: httpx.AsyncClient) -> None:
    page = await client.get("/app")
    again = await client.get("/app", headers={"If-None-Match": page.headers["etag"]})

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert again.content == b""


async def test_assets_are_versioned_and_immutable(client: httpx.AsyncClient) -> None:
    page = (await client.get("/app")).text
    urls = re.findall(r'(?:src|href)="(/app/assets/[^"]+)"', page)
    answers = [await client.get(url) for url in urls]

    assert {url.rsplit("/", 1)[-1] for url in urls} == {"icon.svg", "app.css", "main.js"}
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert {answer.headers["cache-control"] for answer in answers} == {"public, max-age=31536000, immutable"}
    script = next(answer for answer in answers if answer.url.path.endswith(".js"))
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_another_versions_asset_is_not_found(client: httpx.AsyncClient) -> None:
    stale = await client.get("/app/assets/000000000000/app.css")
    missing = await client.get(re.sub(r"app\.css$", "nope.css", _asset_url((await client.get("/app")).text)))

    assert stale.status_code == 404
    assert missing.status_code == 404
    assert stale.headers["content-type"] == "application/problem+json"


async def test_every_answer_under_app_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    page = await client.get("/app")
    asset = await client.get(_asset_url(page.text))
    missing = await client.get("/app/assets/000000000000/app.css")

    for answer in (page, asset, missing):
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "connect-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


async def test_the_page_has_no_inline_script_or_style(client: httpx.AsyncClient) -> None:
    page = (await client.get("/app")).text

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page
    assert " style=" not in page


async def test_app_with_a_slash_redirects_to_the_page(client: httpx.AsyncClient) -> None:
    answer = await client.get("/app/")

    assert answer.status_code == 308
    assert answer.headers["location"] == "/app"


def _asset_url(page: str) -> str:
    found = re.search(r'href="(/app/assets/[^"]+/app\.css)"', page)
    assert found is not None
    return found.group(1)
