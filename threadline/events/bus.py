"""The event bus: a doorbell that says "the log has new events". It never carries the events themselves."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

RingHandler = Callable[[int], None]
"""Called with the id of a newly committed event; must not block."""

CATCH_UP = 0
"""Rung instead of an id by a bus that has just (re)connected: it may have missed rings, so read the log."""


class EventBus(ABC):
    """Rung by services after each commit; heard by the stream hub of every process."""

    name: str

    @abstractmethod
    async def start(self, on_ring: RingHandler) -> None:
        """Begin listening; ``on_ring`` is called for every ring, from any process."""

    @abstractmethod
    def ring(self, event_id: int) -> None:
        """Announce that events up to ``event_id`` are committed. Never blocks and never raises: a write
        does not wait on the bus, and a lost ring only delays."""

    @abstractmethod
    async def check(self) -> bool:
        """Whether the bus is reachable now (for ``/ready``)."""

    @abstractmethod
    async def close(self) -> None: ...


class MemoryBus(EventBus):
    """One process: the ring goes straight to this process's hub."""

    name = "memory"

    def __init__(self) -> None:
        self._on_ring: RingHandler | None = None

    async def start(self, on_ring: RingHandler) -> None:
        self._on_ring = on_ring

    def ring(self, event_id: int) -> None:
        if self._on_ring is not None:
            self._on_ring(event_id)

    async def check(self) -> bool:
        return True

    async def close(self) -> None:
        self._on_ring = None
