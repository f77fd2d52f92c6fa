"""Every error becomes an RFC 9457 problem document with a stable ``code``; this is the one mapping table."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from threadline.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    StaleCursor,
    ThreadlineError,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from threadline.models.domain.reply import ReplyConflict

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "x-request-id"

# The first that matches applies: a subclass comes before its base.
_DOMAIN_ERRORS: dict[type[ThreadlineError], tuple[int, str]] = {
    StaleCursor: (422, "cursor_expired"),
    ValidationFailed: (422, "validation_error"),
    Unauthenticated: (401, "unauthenticated"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    RateLimited: (429, "rate_limited"),
    Unavailable: (503, "unavailable"),
}

_HTTP_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def problem(
    request: Request | None,
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem document carrying the request id, also as a header: a 500 is answered from outside the
    middleware that sets that header on every other response."""
    request_id = getattr(request.state, "request_id", None) if request else None
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": request_id,
        **extra,
    }
    headers = {**(headers or {}), **({REQUEST_ID_HEADER: request_id} if request_id else {})}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ThreadlineError)
    status, code = next(
        (mapped for kind, mapped in _DOMAIN_ERRORS.items() if isinstance(error, kind)),
        (500, "internal_error"),
    )
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, ReplyConflict):
        extra.update(message_status=error.status.value, length=error.length)
    if isinstance(error, ValidationFailed):
        extra["errors"] = [{"loc": list(error.loc), "msg": error.detail, "type": error.kind}]
    if isinstance(error, Unavailable):
        # The client sees only "unavailable"; the operator needs what it was (down, a timeout, a deadlock).
        logger.warning(
            "answering 503: %s",
            _cause(error),
            extra={"request_id": getattr(request.state, "request_id", None)},
        )
    return problem(request, status, code, error.detail, headers=headers, **extra)


def _cause(error: Exception) -> str:
    """The error and what it came from, on one line: the driver's own error, not SQLAlchemy's wrapper
    (whose text carries the whole statement)."""
    cause = error.__cause__
    cause = getattr(cause, "orig", None) or cause
    if cause is None:
        return str(error)
    first_line = next(iter(str(cause).splitlines()), "")
    return f"{error} ({type(cause).__name__}: {first_line})"


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(item.get("loc", ())), "msg": str(item.get("msg", "")), "type": str(item.get("type", ""))}
        for item in error.errors()
    ]
    return _invalid_request(request, errors)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == 400:
        # FastAPI answers 400 for a body it cannot decode (not UTF-8, a broken form); API.md §1 makes
        # every malformed request a 422 validation_error.
        return _invalid_request(request, [{"loc": ["body"], "msg": detail, "type": "body_invalid"}])
    code = _HTTP_CODES.get(error.status_code, "error")
    if error.status_code == 404 and detail == "Not Found":
        detail = "No such endpoint"
    headers = dict(error.headers or {})
    if error.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem(request, error.status_code, code, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to. Starlette's 405 names only the methods of the first route matching
    the path, and FastAPI makes each method of a path a route of its own. ``HEAD`` goes wherever ``GET``
    does (``HeadMiddleware``)."""
    methods = {
        method
        for route in iter_route_contexts(request.app.routes)
        if route.matches(request.scope)[0] is not Match.NONE
        for method in route.methods or ()
    }
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _invalid_request(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    return problem(request, 422, "validation_error", "The request is not valid", errors=errors)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error", extra={"request_id": getattr(request.state, "request_id", None)})
    return problem(request, 500, "internal_error", "An unexpected error occurred")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ThreadlineError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
