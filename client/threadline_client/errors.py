"""One small hierarchy: every refusal of the server is a ``ThreadlineError`` carrying its problem document.

Catch ``ThreadlineError`` for all of them, or a subclass for one ``code``. Network failures that outlast
the client's retries stay ``httpx.TransportError``: they are not answers from the server.
"""

from __future__ import annotations

from uuid import UUID

import httpx
from pydantic import ValidationError as PydanticValidationError

from threadline_client.models import FieldError, Problem


class ThreadlineError(Exception):
    """The server refused a request; ``problem`` is the RFC 9457 document it answered."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.status} {problem.code}: {problem.detail}")
        self.problem = problem

    @property
    def code(self) -> str:
        """The problem's stable ``code`` (``not_found``, ``conflict``, …)."""
        return self.problem.code

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self.problem.status

    @property
    def detail(self) -> str:
        """What went wrong, for people."""
        return self.problem.detail

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-ID`` the server logged the request under: quote it when asking for help."""
        return self.problem.request_id


class ValidationError(ThreadlineError):
    """422: the request is not valid; ``errors`` says where and why."""

    @property
    def errors(self) -> list[FieldError]:
        """Each reason the request is invalid."""
        return self.problem.errors or []


class Unauthenticated(ThreadlineError):
    """401: no credential, or one that is expired, revoked or malformed."""


class Forbidden(ThreadlineError):
    """403: you may see this, but not change it."""


class NotFound(ThreadlineError):
    """404: it does not exist, or you may not see it."""


class Conflict(ThreadlineError):
    """409: a taken email, an existing member, a reused idempotency key, or a reply whose state moved on."""

    @property
    def length(self) -> int | None:
        """For a refused delta or finish: the reply's stored length, where to resend from."""
        value = (self.problem.model_extra or {}).get("length")
        return value if isinstance(value, int) else None

    @property
    def message_status(self) -> str | None:
        """For a refused delta or finish: the reply's status (``streaming``, ``cancelled``, …)."""
        value = (self.problem.model_extra or {}).get("message_status")
        return value if isinstance(value, str) else None


class PayloadTooLarge(ThreadlineError):
    """413: the request body is over 1 MiB."""


class RateLimited(ThreadlineError):
    """429: too many attempts; ``retry_after`` says how long to wait, in seconds."""

    def __init__(self, problem: Problem, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after = retry_after


class Unavailable(ThreadlineError):
    """503: the database or the event bus is down; retry later."""


class ServerError(ThreadlineError):
    """500, or another answer that is not a problem document the client knows."""


class Cancelled(Exception):
    """The reply was cancelled (someone pressed stop): stop generating; nothing more is written to it."""

    def __init__(self, message_id: UUID) -> None:
        super().__init__(f"reply {message_id} was cancelled")
        self.message_id = message_id


class ReadableError(Exception):
    """An error whose message is written for people: a reply it fails shows the message as it is."""


_KINDS: tuple[tuple[str, int, type[ThreadlineError]], ...] = (
    ("validation_error", 422, ValidationError),
    ("unauthenticated", 401, Unauthenticated),
    ("forbidden", 403, Forbidden),
    ("not_found", 404, NotFound),
    ("conflict", 409, Conflict),
    ("payload_too_large", 413, PayloadTooLarge),
    ("rate_limited", 429, RateLimited),
    ("unavailable", 503, Unavailable),
)
_BY_CODE = {code: kind for code, _, kind in _KINDS}
_CODE_BY_STATUS = {status: code for code, status, _ in _KINDS}


def error_of(response: httpx.Response) -> ThreadlineError:
    """The exception for a refused request: by the problem's ``code``, or by status if it has none."""
    problem = _problem_of(response)
    kind = _BY_CODE.get(problem.code, ServerError)
    if kind is RateLimited:
        return RateLimited(problem, retry_after=retry_after(response))
    return kind(problem)


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds, when it is a number (the server never sends a date)."""
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def _problem_of(response: httpx.Response) -> Problem:
    """The answered problem document; a body that is not one (a proxy's error page) becomes one."""
    request_id = response.headers.get("X-Request-ID")
    try:
        problem = Problem.model_validate_json(response.content)
    except PydanticValidationError:
        return Problem(
            status=response.status_code,
            title=response.reason_phrase,
            code=_CODE_BY_STATUS.get(response.status_code, "internal_error"),
            detail=response.text[:200] or response.reason_phrase,
            request_id=request_id,
        )
    return problem if problem.request_id else problem.model_copy(update={"request_id": request_id})
