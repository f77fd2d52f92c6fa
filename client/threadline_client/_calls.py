"""The request-description layer both clients share: a ``Call`` says what to send and how to read the
answer, ``endpoint`` turns a function that builds one into a method of either client, and ``RetryPolicy``
says when a call may be sent again. Nothing here does I/O."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar, overload
from uuid import UUID

import httpx
from pydantic import BaseModel

from threadline_client.errors import retry_after

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer.

    Built once per logical call, so every retry sends exactly the same request, the same
    ``Idempotency-Key`` included.
    """

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    json: object = None
    form: Mapping[str, str] | None = None
    params: Mapping[str, str | int] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    retry: bool = False
    """Safe to send again when the answer is lost: reads, and writes the server deduplicates."""
    signs_in: bool = False
    """Its answer is a ``Token`` the client keeps for the requests that follow."""


def model(kind: type[M]) -> Callable[[httpx.Response], M]:
    """Read an answer as ``kind``."""
    return lambda response: kind.model_validate_json(response.content)


def nothing(response: httpx.Response) -> None:
    """Read a 204 answer."""


def ident(value: UUID | str) -> str:
    """An id for a path, checked to be a UUID, so no value can reach another path."""
    return str(value if isinstance(value, UUID) else UUID(value))


def present(**values: object) -> dict[str, object]:
    """The fields given: absent or ``None`` leaves the server's default, or in a PATCH, the value as it is."""
    return {name: value for name, value in values.items() if value is not None}


def query(**values: str | int | None) -> dict[str, str | int]:
    """The query parameters given; one left ``None`` is not sent."""
    return {name: value for name, value in values.items() if value is not None}


class _SendsAsync(Protocol):
    async def send(self, call: Call[T], /) -> T: ...


class _SendsSync(Protocol):
    def send(self, call: Call[T], /) -> T: ...


class endpoint(Generic[P, T]):
    """Makes a function that builds a ``Call`` into a method of both clients: on ``AsyncThreadline`` it
    returns an awaitable of the answer, on ``Threadline`` the answer itself.

    Each endpoint is so written once, with its arguments, docstring and answer type, for both clients.
    """

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: _SendsAsync, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, instance: _SendsSync, owner: type[Any]) -> Callable[P, T]: ...
    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        if instance is None:
            return self
        build = self._build

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return instance.send(build(*args, **kwargs))

        return method

    def call(self, *args: P.args, **kwargs: P.kwargs) -> Call[T]:
        """The ``Call`` this endpoint builds, for ``send`` or a test to inspect."""
        return self._build(*args, **kwargs)


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter: about ``base * 2**attempt``, at most ``cap``, randomised between half
    and all of it, so clients cut off together do not all come back at the same instant."""
    return min(cap, base * 2.0**attempt) * random.uniform(0.5, 1.0)


_RETRIED_STATUSES = frozenset({429, 502, 503, 504})
"""Answers that say "not now": the request was not carried out."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a call is sent again: only a call marked ``retry``, after a network
    failure or an answer of ``_RETRIED_STATUSES``, waiting ``Retry-After`` when the server says."""

    attempts: int = 4
    """Sends at most, the first included."""
    backoff: float = 0.25
    """Seconds before the first retry; each further one waits about twice as long."""
    max_backoff: float = 8.0

    def delay(self, call: Call[Any], attempt: int, response: httpx.Response | None = None) -> float | None:
        """Seconds to wait before sending ``call`` again after its ``attempt``-th send (from 0) failed,
        or ``None`` to give up. ``response`` is its answer; ``None`` for a network failure."""
        if not call.retry or attempt + 1 >= self.attempts:
            return None
        if response is not None and response.status_code not in _RETRIED_STATUSES:
            return None
        told = retry_after(response) if response is not None else None
        if told is not None:
            return told if told <= self.max_backoff else None
        return backoff(attempt, base=self.backoff, cap=self.max_backoff)
