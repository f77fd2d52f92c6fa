"""``HEAD`` answered wherever ``GET`` is (RFC 9110 §9.3.2): FastAPI's routes, unlike Starlette's, add no
``HEAD`` of their own, so without this uptime checkers and caches would get 405.

The app runs a ``GET`` on a copy of the scope: the server's own scope must still say ``HEAD``, since that is
how the server knows to send no body (and to expect none despite a ``Content-Length``). The answer is
complete once its headers are out, so from then on ``receive`` reports a disconnect: a response that never
ends by itself (an event stream) notices at once and lets go of its subscription.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadMiddleware:
    """Plain ASGI (no BaseHTTPMiddleware, which buffers): GET's status and headers, then an empty body."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self._app(scope, receive, send)
            return
        # Shallow, so ``state`` (the request id) stays shared with the middleware outside.
        as_get = {**scope, "method": "GET"}
        answered = asyncio.Event()

        async def send_headers_only(message: Message) -> None:
            if answered.is_set():
                return  # the body: the server has already had the one final body message it expects
            await send(message)
            if message["type"] == "http.response.start":
                answered.set()
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def receive_until_answered() -> Message:
            """The request as the server delivers it, until the answer is complete; then a disconnect,
            also to a ``receive`` already waiting (a stream's watcher waits from before its first byte)."""
            if answered.is_set():
                return {"type": "http.disconnect"}
            receiving = asyncio.ensure_future(receive())
            answering = asyncio.ensure_future(answered.wait())
            try:
                await asyncio.wait((receiving, answering), return_when=asyncio.FIRST_COMPLETED)
            finally:
                answering.cancel()
                receiving.cancel()  # what is left of the request is of no use once the answer is complete
            if receiving.done():
                return receiving.result()
            return {"type": "http.disconnect"}

        try:
            await self._app(as_get, receive_until_answered, send_headers_only)
        finally:
            # The router records the route it matched in the scope it is given; the metrics outside read
            # it from theirs, to count the request under its route template.
            if "route" in as_get:
                scope["route"] = as_get["route"]
