"""Conditional GET: an ``ETag`` on reads versioned by the event log, and 304 for ``If-None-Match``.

A tag names what was read (its kind, its scope, the query that shaped it, the server's representation)
and the version it was read at. A request whose ``If-None-Match`` holds a tag for the same read hands the
service that version, and the service skips the read when nothing has changed since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Header, Response

from threadline.models.domain.version import Versioned

ValueT = TypeVar("ValueT")
AnswerT = TypeVar("AnswerT")

REPRESENTATION = 1
"""Raise it whenever an answer's shape changes: tags handed out before then stop matching."""

CACHE_CONTROL = "private, no-cache"
"""Answers depend on the caller's credentials, and must be revalidated before each reuse."""


class ReadTag:
    """The tags of one read: ``kind`` of ``scope``, shaped by ``query`` (its parameters, validated)."""

    def __init__(self, kind: str, scope: UUID, query: str = "") -> None:
        shape = f"{REPRESENTATION}|{kind}|{scope}|{query}"
        self._prefix = f"{kind}.{hashlib.sha256(shape.encode()).hexdigest()[:16]}."

    def tag(self, version: int) -> str:
        return f'"{self._prefix}{version}"'

    def known_version(self, if_none_match: str | None) -> int | None:
        """The version of this read that the client holds, if ``If-None-Match`` names one."""
        for candidate in (if_none_match or "").split(","):
            opaque = candidate.strip().removeprefix("W/").strip('"')
            digits = opaque.removeprefix(self._prefix)
            if opaque.startswith(self._prefix) and digits.isascii() and digits.isdigit():
                return int(digits)
        return None

    def answer(
        self, read: Versioned[ValueT], to_response: Callable[[ValueT], AnswerT], response: Response
    ) -> AnswerT | Response:
        """The read as a response, tagged with its version; or 304, when the client holds it already."""
        headers = {"ETag": self.tag(read.version), "Cache-Control": CACHE_CONTROL}
        if read.value is None:
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return to_response(read.value)


IfNoneMatchHeader = Annotated[
    str | None,
    Header(alias="If-None-Match", description="An `ETag` of this read: 304 if it is still current."),
]
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `ETag` sent in `If-None-Match` is still current."}
}
