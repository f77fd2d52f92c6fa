"""Prometheus metrics of the HTTP surface, in a registry owned by one app (so tests can build many).

With ``--workers N`` the processes share their figures through prometheus-client's multiprocess mode
(``threadline serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory), so whichever worker
answers a scrape reports the whole server.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        if not _shared():
            return generate_latest(self.registry)
        _forget_dead_workers()
        every_process = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_process)  # type: ignore[no-untyped-call]
        return generate_latest(every_process)

    def close(self) -> None:
        """At shutdown: this process's streams no longer count as open (its counters still count)."""
        if _shared():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


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
