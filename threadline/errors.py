"""The domain's errors. They carry no HTTP knowledge; the API layer maps each one to a problem document."""

from __future__ import annotations


class ThreadlineError(Exception):
    """Base of every error the services raise on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ThreadlineError):
    """The resource does not exist, or the caller may not know that it does."""


class Forbidden(ThreadlineError):
    """The caller may see the resource but not do this to it."""


class Conflict(ThreadlineError):
    """The change clashes with what is stored (a duplicate, a reused key)."""


class ValidationFailed(ThreadlineError):
    """The input is well-formed but breaks a rule only the service can check."""

    def __init__(self, detail: str, *, loc: tuple[str | int, ...] = (), kind: str = "value_error") -> None:
        super().__init__(detail)
        self.loc = loc
        self.kind = kind
        """The problem document's ``errors[].type``: a stable name for what is wrong."""


class StaleCursor(ValidationFailed):
    """A well-formed cursor whose walk can no longer go on (it expired): the client starts again."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, loc=("query", "cursor"), kind="cursor_expired")


class Unauthenticated(ThreadlineError):
    """No valid credential came with the request."""


class RateLimited(ThreadlineError):
    """Too many attempts; retry after the given number of seconds."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(ThreadlineError):
    """A backing service (database, event bus) cannot be reached right now."""
