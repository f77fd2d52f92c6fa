"""Broadcast rounds: publish one event, time its arrival at every subscriber, repeat.

Shared by BASE_FAN and the Threadline stream benchmarks so that both are measured the same way:
the clock starts just before the publishing request is sent and stops when each subscriber's parser
dispatches the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.sse_client import SseEvent, SseStream
from bench.stats import Distribution, ratio

RoundOf = Callable[[SseEvent], int | None]


class RoundTracker:
    """Records when each stream first receives each round's event; ``round_of`` reads the round."""

    def __init__(self, round_of: RoundOf) -> None:
        self._round_of = round_of
        self._arrivals: dict[int, dict[int, float]] = {}
        self._waiter: tuple[int, int, asyncio.Event] | None = None
        self.duplicates = 0

    def on_event(self, stream: SseStream, event: SseEvent) -> None:
        round_ = self._round_of(event)
        if round_ is None:
            return
        arrivals = self._arrivals.setdefault(round_, {})
        if id(stream) in arrivals:
            self.duplicates += 1
            return
        arrivals[id(stream)] = event.arrival
        if self._waiter is not None and self._waiter[0] == round_ and len(arrivals) >= self._waiter[1]:
            self._waiter[2].set()

    def arrivals(self, round_: int) -> list[float]:
        return list(self._arrivals.get(round_, {}).values())

    async def wait(self, round_: int, count: int) -> None:
        """Return once ``count`` streams have the round's event; the caller bounds the wait."""
        if len(self._arrivals.get(round_, {})) >= count:
            return
        done = asyncio.Event()
        self._waiter = (round_, count, done)
        try:
            await done.wait()
        finally:
            self._waiter = None


def round_pause(subscribers: int) -> float:
    """Idle time between rounds, so one round's tail writes never overlap the next round's clock."""
    return 0.0 if subscribers == 1 else 0.2


@dataclass(frozen=True, slots=True)
class FanResult:
    """Latency from publish to arrival, per round and over all rounds, at one subscriber count."""

    subscribers: int
    rounds: list[Distribution]
    overall: Distribution
    missing: int
    duplicates: int

    @property
    def median_round_p99(self) -> float:
        return statistics.median(r.p99 for r in self.rounds) if self.rounds else float("nan")

    @property
    def worst_round_p99(self) -> float:
        return max((r.p99 for r in self.rounds), default=float("nan"))

    @property
    def round_spread(self) -> float:
        """Worst round's p99 over the median round's p99: 1 means every round looked alike."""
        return ratio(self.worst_round_p99, self.median_round_p99)


async def measure_rounds(
    tracker: RoundTracker,
    publish: Callable[[int], Awaitable[None]],
    *,
    subscribers: int,
    rounds: int,
    round_within: float = 30.0,
    pause: float = 0.0,
) -> FanResult:
    """Run ``rounds`` broadcasts to ``subscribers`` streams.

    A stream that has not received a round's event ``round_within`` seconds after it was published
    counts as a missing delivery.
    """
    per_round: list[Distribution] = []
    everything: list[float] = []
    missing = 0
    for round_ in range(rounds):
        sent = time.monotonic()
        await publish(round_)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(round_within):
                await tracker.wait(round_, subscribers)
        latencies = [arrival - sent for arrival in tracker.arrivals(round_)]
        missing += subscribers - len(latencies)
        per_round.append(Distribution.of(latencies))
        everything.extend(latencies)
        await asyncio.sleep(pause)
    return FanResult(subscribers, per_round, Distribution.of(everything), missing, tracker.duplicates)
