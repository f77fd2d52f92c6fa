"""Prometheus metrics of the HTTP surface, the event log and streams, the group-commit writers and the
database pool, in a registry owned by one app (so tests can build many). Each is listed, with its labels,
in ``docs/operations.md``.

With ``--workers N`` the processes share their figures through prometheus-client's multiprocess mode
(``threadline serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory), so whichever worker
answers a scrape reports the whole server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from threadline.database.engine import PoolStatus
from threadline.models.domain.event import EventType

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_BATCH_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._add_http_metrics()
        self._add_event_metrics()
        self._add_batch_metrics()
        self._add_pool_metrics()

    def _add_http_metrics(self) -> None:
        self._requests = Counter(
            "threadline_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "threadline_http_request_duration_seconds",
            "Time to answer an HTTP request (to the end of the body; streams count their whole life).",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.open_streams = Gauge(
            "threadline_sse_open_streams",
            "Event streams open (in all worker processes).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.events_delivered = Counter(
            "threadline_sse_events_sent_total", "Events written to event streams.", registry=self.registry
        )
        self.stream_resets = Counter(
            "threadline_sse_stream_resets_total",
            "Event streams opened with a reset (the client's place was pruned or is unknown).",
            registry=self.registry,
        )
        self.streams_cut_off = Counter(
            "threadline_sse_streams_cut_off_total",
            "Event streams cut off because their client stopped reading.",
            registry=self.registry,
        )

    def _add_event_metrics(self) -> None:
        self._events_appended = Counter(
            "threadline_events_appended_total",
            "Events committed to the event log, by type.",
            ["type"],
            registry=self.registry,
        )
        self._rings_received = Counter(
            "threadline_bus_rings_received_total",
            "Doorbells heard from the event bus (one per committed transaction that logged events, from "
            "any process; the bus may merge them).",
            registry=self.registry,
        )

    def _add_batch_metrics(self) -> None:
        self._batch_size = Histogram(
            "threadline_batch_size",
            "Requests answered by one committed group-commit transaction, by writer.",
            ["writer"],
            registry=self.registry,
            buckets=_BATCH_SIZES,
        )
        self._batch_duration = Histogram(
            "threadline_batch_duration_seconds",
            "Time to write one committed group-commit transaction (waiting for its connection included).",
            ["writer"],
            registry=self.registry,
            buckets=_BATCH_SECONDS,
        )
        self._batch_set_aside = Counter(
            "threadline_batch_set_aside_total",
            "Requests set aside by a batch because another transaction held their locks, by writer.",
            ["writer"],
            registry=self.registry,
        )
        self._batch_failures = Counter(
            "threadline_batch_failures_total",
            "Group-commit transactions that failed, by writer and reason (unavailable, error).",
            ["writer", "reason"],
            registry=self.registry,
        )

    def _add_pool_metrics(self) -> None:
        def pool_gauge(name: str, documentation: str) -> Gauge:
            # One series per worker (a ``pid`` label under ``--workers N``): sum them for the server.
            return Gauge(name, documentation, registry=self.registry, multiprocess_mode="liveall")

        self._pool_size = pool_gauge("threadline_database_pool_size", "Connections the pool keeps open.")
        self._pool_checked_out = pool_gauge(
            "threadline_database_pool_checked_out", "Pooled connections lent to a transaction now."
        )
        self._pool_overflow = pool_gauge(
            "threadline_database_pool_overflow", "Connections open beyond the pool size now."
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route).observe(seconds)

    def count_events(self, logged: Mapping[EventType, int]) -> None:
        """For the unit of work: the events a transaction committed."""
        for event_type, count in logged.items():
            self._events_appended.labels(event_type.value).inc(count)

    def counting_rings(self, on_ring: Callable[[int], None]) -> Callable[[int], None]:
        """``on_ring`` (the hub's doorbell), counting each ring the bus hands it."""

        def ring(event_id: int) -> None:
            self._rings_received.inc()
            on_ring(event_id)

        return ring

    def batches(self, writer: str) -> BatchMetrics:
        """The observer of one group-commit writer (``messages``, ``deltas``)."""
        return BatchMetrics(
            size=self._batch_size.labels(writer),
            duration=self._batch_duration.labels(writer),
            set_aside=self._batch_set_aside.labels(writer),
            unavailable=self._batch_failures.labels(writer, "unavailable"),
            error=self._batch_failures.labels(writer, "error"),
        )

    def observe_pool(self, status: PoolStatus) -> None:
        """For ``Database.watch_pool``: this process's pool, as it is now."""
        self._pool_size.set(status.size)
        self._pool_checked_out.set(status.checked_out)
        self._pool_overflow.set(status.overflow)

    def render(self) -> bytes:
        if not _shared():
            return generate_latest(self.registry)
        _forget_dead_workers()
        every_process = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_process)  # type: ignore[no-untyped-call]
        return generate_latest(every_process)

    def close(self) -> None:
        """At shutdown: this process's streams and pool no longer count as open (its counters still count)."""
        if _shared():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class BatchMetrics:
    """A ``BatchObserver`` for one writer: its labelled series, looked up once rather than per batch."""

    size: Histogram
    duration: Histogram
    set_aside: Counter
    unavailable: Counter
    error: Counter

    def committed(self, *, answered: int, set_aside: int, seconds: float) -> None:
        self.size.observe(answered)
        self.duration.observe(seconds)
        if set_aside:
            self.set_aside.inc(set_aside)

    def failed(self, *, unavailable: bool) -> None:
        (self.unavailable if unavailable else self.error).inc()


def _shared() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


def _forget_dead_workers() -> None:
    """Drop the live gauges of workers that died without shutting down (killed, crashed): uvicorn starts
    others in their place, and their streams are gone. ``close`` does this for a worker that stops."""
    for path in Path(os.environ[MULTIPROCESS_DIR]).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its pid reused by somebody else's process
        return False
    return True
