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
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from bench.sse_client import SseEvent, SseStream
from bench.stats import Distribution, ratio

RoundOf = Callable[[SseEvent], int | None]


class RoundTracker:
    """Records when each stream first receives each round's event; ``round_of`` reads the round.

    It also checks order: each stream's round events must carry strictly increasing integer ids.
    """

    def __init__(self, round_of: RoundOf) -> None:
        self._round_of = round_of
        self._arrivals: dict[int, dict[int, float]] = {}
        self._last_ids: dict[int, int] = {}
        self._waiter: tuple[int, int, asyncio.Event] | None = None
        self.duplicates = 0
        self.out_of_order = 0

    def on_event(self, stream: SseStream, event: SseEvent) -> None:
        round_ = self._round_of(event)
        if round_ is None:
            return
        self._check_order(stream, event)
        arrivals = self._arrivals.setdefault(round_, {})
        if id(stream) in arrivals:
            self.duplicates += 1
            return
        arrivals[id(stream)] = event.arrival
        if self._waiter is not None and self._waiter[0] == round_ and len(arrivals) >= self._waiter[1]:
            self._waiter[2].set()

    def _check_order(self, stream: SseStream, event: SseEvent) -> None:
        """Count an event whose id is missing, not an integer, or not above the stream's previous one."""
        event_id = int(event.id) if event.id is not None and event.id.isdigit() else None
        last = self._last_ids.get(id(stream))
        if event_id is None or (last is not None and event_id <= last):
            self.out_of_order += 1
        if event_id is not None:
            self._last_ids[id(stream)] = max(event_id, last or 0)

    def arrivals(self, round_: int, streams: Collection[SseStream] | None = None) -> list[float]:
        """Arrival times of the round's event, at every stream or only at ``streams``."""
        arrived = self._arrivals.get(round_, {})
        if streams is None:
            return list(arrived.values())
        return [arrived[id(stream)] for stream in streams if id(stream) in arrived]

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
    """Latency from publish to arrival, per round and over all rounds, at one subscriber count.

    ``groups`` holds the latency over all rounds of each group of streams ``measure_rounds`` was given
    (for example, the streams connected to each server process); ``answered`` the time from sending each
    publishing request to its answer, the write's own latency that delivery adds to.
    """

    subscribers: int
    rounds: list[Distribution]
    overall: Distribution
    missing: int
    duplicates: int
    out_of_order: int
    groups: list[Distribution]
    answered: Distribution

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
    groups: Sequence[Collection[SseStream]] = (),
    settle: float = 0.0,
) -> FanResult:
    """Run ``rounds`` broadcasts to ``subscribers`` streams.

    A stream that has not received a round's event ``round_within`` seconds after it was published
    counts as a missing delivery. After the last round, ``settle`` seconds pass before duplicates and
    out-of-order events are counted, so late repeats are caught too.
    """
    per_round: list[Distribution] = []
    everything: list[float] = []
    by_group: list[list[float]] = [[] for _ in groups]
    answered: list[float] = []
    missing = 0
    for round_ in range(rounds):
        sent = time.monotonic()
        await publish(round_)
        answered.append(time.monotonic() - sent)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(round_within):
                await tracker.wait(round_, subscribers)
        latencies = [arrival - sent for arrival in tracker.arrivals(round_)]
        missing += subscribers - len(latencies)
        per_round.append(Distribution.of(latencies))
        everything.extend(latencies)
        for streams, latencies_of_group in zip(groups, by_group, strict=True):
            latencies_of_group.extend(arrival - sent for arrival in tracker.arrivals(round_, streams))
        await asyncio.sleep(pause)
    await asyncio.sleep(settle)
    return FanResult(
        subscribers,
        per_round,
        Distribution.of(everything),
        missing,
        tracker.duplicates,
        tracker.out_of_order,
        [Distribution.of(latencies) for latencies in by_group],
        Distribution.of(answered),
    )
