"""The web client at ``/app``: static files shipped inside the package, served by the API process itself.

Caching: every asset lives under ``/app/assets/<version>/``, where the version is a hash of all the files,
so assets are cached for a year as immutable and a new release changes every asset URL at once (relative
module imports included). ``index.html`` names that version, so it is revalidated on every load
(``no-cache`` with an ``ETag``, answered 304 while unchanged).
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from threadline.api.problems import problem

_VERSION_PLACEHOLDER = "{{version}}"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

# Scripts and styles from this origin only, no inline code, and the API and its event stream as the only
# connections; the page can be framed by no one.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


@dataclass(frozen=True)
class WebFiles:
    """The app's files, read once: ``index.html`` (with the version filled in) and the assets by path."""

    version: str
    index: bytes
    index_etag: str
    assets: dict[str, Asset]

    @classmethod
    def load(cls) -> WebFiles:
        files = dict(_read_all(resources.files("threadline") / "web" / "static"))
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name] + b"\0")
        version = digest.hexdigest()[:12]
        index = files.pop("index.html").replace(_VERSION_PLACEHOLDER.encode(), version.encode())
        return cls(
            version=version,
            index=index,
            index_etag=f'"{hashlib.sha256(index).hexdigest()[:16]}"',
            assets={name: Asset(body, _media_type(name)) for name, body in files.items()},
        )


def _read_all(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """Every file under ``folder``, by its path relative to it."""
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _read_all(entry, f"{name}/")
        elif entry.is_file():
            yield name, entry.read_bytes()


def _media_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    return _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def web_router(files: WebFiles) -> APIRouter:
    """Routes for the app, left out of the API's OpenAPI document: they are a client, not the contract."""
    router = APIRouter(include_in_schema=False)

    @router.get("/app")
    async def web_app(request: Request) -> Response:
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": files.index_etag}
        if files.index_etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(files.index, media_type="text/html; charset=utf-8", headers=headers)

    @router.get("/app/")
    async def web_app_slash() -> RedirectResponse:
        return RedirectResponse("/app", status_code=308)

    @router.get("/app/assets/{version}/{path:path}")
    async def web_asset(request: Request, version: str, path: str) -> Response:
        asset = files.assets.get(path)
        if version != files.version or asset is None:
            # An old version's URL is not answered with today's file: it would be cached as immutable.
            return problem(request, 404, "not_found", "No such file", headers=SECURITY_HEADERS)
        return Response(
            asset.body, media_type=asset.media_type, headers={**SECURITY_HEADERS, "Cache-Control": IMMUTABLE}
        )

    return router
