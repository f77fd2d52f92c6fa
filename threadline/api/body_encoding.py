"""Request bodies are UTF-8 (API.md §1): checked as they arrive, for the media types that carry text.

Left to themselves, the JSON decoder also reads UTF-16 and UTF-32, and the form parser turns bytes that
are not UTF-8 into U+FFFD (or reads raw bytes as Latin-1): a login form would then fail as a wrong
password, not as the malformed request it is.
"""

from __future__ import annotations

import codecs
from typing import Protocol
from urllib.parse import unquote_to_bytes

from starlette.types import Scope

NOT_UTF8 = "The request body is not UTF-8"
NOT_PERCENT_ENCODED = "A form body must be percent-encoded UTF-8"


class BodyCheck(Protocol):
    def feed(self, chunk: bytes, *, final: bool) -> str | None:
        """Take the next chunk of the body; what is wrong with it, if anything."""


class _Utf8Json:
    """A JSON body: UTF-8, without NUL bytes.

    JSON text has no place for a raw NUL (in a string it must be escaped), while UTF-16 or UTF-32 without
    a byte-order mark is full of them, and is otherwise valid UTF-8.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes, *, final: bool) -> str | None:
        if b"\x00" in chunk:
            return NOT_UTF8
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            return NOT_UTF8
        return None


class _Utf8Form:
    """An ``application/x-www-form-urlencoded`` body: ASCII, whose percent-escapes spell UTF-8."""

    def __init__(self) -> None:
        self._body = bytearray()

    def feed(self, chunk: bytes, *, final: bool) -> str | None:
        self._body += chunk
        if not final:
            return None
        if not self._body.isascii():
            return NOT_PERCENT_ENCODED
        try:
            unquote_to_bytes(bytes(self._body)).decode()
        except UnicodeDecodeError:
            return NOT_UTF8
        return None


_JSON_TYPES = (b"application/json", b"application/x-ndjson")
"""JSON, and JSON a value a line (a reply's deltas, streamed)."""


def body_check(scope: Scope) -> BodyCheck | None:
    """The check for the request's media type, or ``None`` for a body that is not text (or none at all)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
            if media_type in _JSON_TYPES or media_type.endswith(b"+json"):
                return _Utf8Json()
            if media_type == b"application/x-www-form-urlencoded":
                return _Utf8Form()
            return None
    return None
