"""Conditional reads: what a read reflects, so a client that has it already need not be sent it again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Versioned(Generic[T]):
    """A read and its ``version``: the newest event of its scope in the log (0 if none) when it was read.

    Every change to what the read shows writes an event there, so the same version means the same answer.
    ``value`` is ``None`` when the caller said it holds this version already: it was not read again.
    """

    version: int
    value: T | None
