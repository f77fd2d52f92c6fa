"""Closed-loop HTTP/1.1 load generator used for the baselines and for Threadline alike, so ratios are fair.

``connections`` keep-alive connections each send their next request as soon as the previous answer is
in, taking requests from one shared iterable. Every request's latency, status and completion order are
kept, so a benchmark can look at the start and the end of a run separately.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bench.http1 import TRANSPORT_ERRORS, Connection
from bench.stats import Distribution

#: How long requests still in flight at the time limit may take before they are abandoned.
DRAIN_SECONDS = 30.0

#: Status recorded for a request that failed at the socket or protocol level.
TRANSPORT_ERROR = 0


@dataclass(frozen=True, slots=True)
class Request:
    """One request to send; the load generator adds ``Host`` and ``Content-Length``."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(slots=True)
class LoadResult:
    """What a run produced; the lists are parallel and in completion order."""

    connections: int
    elapsed: float = 0.0
    client_cpu: float = 0.0
    timed_out: bool = False
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    issued: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        """Requests answered with a non-2xx status or lost to a socket error."""
        return sum(1 for status in self.statuses if not 200 <= status < 300)

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    @property
    def client_load(self) -> float:
        """Share of one core this process used; near 1 the figures measure the client, not the server."""
        return self.client_cpu / self.elapsed if self.elapsed else 0.0

    def distribution(self) -> Distribution:
        return Distribution.of(self.latencies)

    def status_counts(self) -> dict[int, int]:
        return dict(sorted(Counter(self.statuses).items()))

    def succeeded(self) -> list[int]:
        """Positions in the source iterable of the requests answered 2xx."""
        return [
            index for index, status in zip(self.issued, self.statuses, strict=True) if 200 <= status < 300
        ]


async def run_load(
    host: str, port: int, requests: Iterable[Request], *, connections: int, time_limit: float
) -> LoadResult:
    """Send ``requests`` over ``connections`` connections until exhausted or ``time_limit`` seconds pass.

    Connections are opened before the clock starts. Requests already in flight at the time limit may
    finish for up to ``DRAIN_SECONDS`` more; whatever is still pending then is dropped, not counted.
    """
    return await run_load_spread([(host, port)], requests, connections=connections, time_limit=time_limit)


async def run_load_spread(
    addresses: Sequence[tuple[str, int]],
    requests: Iterable[Request],
    *,
    connections: int,
    time_limit: float,
) -> LoadResult:
    """``run_load`` against several servers at once: the connections are dealt round-robin over
    ``addresses`` and all take their requests from the one iterable, so positions stay unique."""
    pool = [Connection(*addresses[index % len(addresses)]) for index in range(connections)]
    await asyncio.gather(*(conn.connect() for conn in pool))
    result = LoadResult(connections=connections)
    source = enumerate(requests)
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + time_limit
    try:
        async with asyncio.timeout(time_limit + DRAIN_SECONDS):
            await asyncio.gather(*(_drive(conn, source, result, deadline) for conn in pool))
    except TimeoutError:
        result.timed_out = True
    finally:
        for conn in pool:
            conn.close()
    result.elapsed = time.perf_counter() - started
    result.client_cpu = time.process_time() - cpu_started
    return result


async def _drive(
    conn: Connection, source: Iterator[tuple[int, Request]], result: LoadResult, deadline: float
) -> None:
    """One connection's loop; the shared iterator is safe because ``next()`` never awaits."""
    for index, request in source:
        start = time.perf_counter()
        if start > deadline:
            result.timed_out = True
            return
        try:
            response = await conn.request(request.method, request.path, request.headers, request.body)
            status = response.status
        except TRANSPORT_ERRORS:
            status = TRANSPORT_ERROR
        result.latencies.append(time.perf_counter() - start)
        result.statuses.append(status)
        result.issued.append(index)
