"""Plain ASGI middleware (no BaseHTTPMiddleware, which buffers and breaks streaming): request ids,
the body-size limit, the body's encoding and request metrics, in one pass over each request."""

from __future__ import annotations

import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.api.body_encoding import body_check
from threadline.api.metrics import Metrics
from threadline.api.problems import REQUEST_ID_HEADER, problem

_MAX_REQUEST_ID_LENGTH = 200


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self._app = app
        self._max_body_bytes = max_body_bytes
        self._metrics = metrics
        self._too_large = f"The request body exceeds {max_body_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self._max_body_bytes:
                # Answer before reading a byte of the body, and close: the rest of it is never read.
                response = problem(
                    Request(scope), 413, "payload_too_large", self._too_large, headers={"Connection": "close"}
                )
                await response(scope, receive, send_with_context)
            else:
                await self._app(scope, self._checked(scope, receive), send_with_context)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            self._metrics.observe(scope["method"], template, status, time.perf_counter() - started)

    def _checked(self, scope: Scope, receive: Receive) -> Receive:
        """Count body bytes as they arrive (for bodies sent without a Content-Length), and check that a
        text body is UTF-8.

        Both errors are ``HTTPException`` so that FastAPI, which turns other errors raised while it reads
        a body into 400, passes them on to the problem handlers: a 413, and a 400 that answers as the 422
        of every malformed body.
        """
        received = 0
        check = body_check(scope)

        async def checked_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self._max_body_bytes:
                    raise HTTPException(413, self._too_large)
                if check is not None and (wrong := check.feed(chunk, final=not message.get("more_body"))):
                    raise HTTPException(400, wrong)
            return message

        return checked_receive


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER.encode():
            # ASCII only: other bytes have no one reading as text, and the header (echoed byte for byte)
            # and the problem document's ``request_id`` would disagree.
            text: str = value.decode("latin-1").strip()
            if 0 < len(text) <= _MAX_REQUEST_ID_LENGTH and text.isascii() and text.isprintable():
                return text
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
