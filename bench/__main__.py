"""``python -m bench [names...]``: run benchmarks, print each one's table, keep the run as JSON.

A benchmark is a module with ``NAME``, ``TITLE`` and ``async def run(config) -> BenchResult``; add a
new one to ``BENCHMARKS`` (run by default) or ``BASELINES`` (run only when named).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bench import (
    b1_append,
    b2_paging,
    b3_latency,
    b4_fanout,
    b5_idle,
    b6_scaleout,
    b7_streaming,
    b8_search,
    baseline_fan,
    baseline_http,
)
from bench.config import BenchConfig, parse_args
from bench.report import BenchResult, render, write_json
from bench.sse_client import raise_open_file_limit

BENCHMARKS = (b1_append, b2_paging, b3_latency, b4_fanout, b5_idle, b6_scaleout, b7_streaming, b8_search)
BASELINES = (baseline_http, baseline_fan)
RESULTS_DIR = Path(__file__).resolve().parent / "results"


class Benchmark(Protocol):
    NAME: str
    TITLE: str

    def run(self, config: BenchConfig) -> Coroutine[Any, Any, BenchResult]: ...


async def run_all(selected: Sequence[Benchmark], config: BenchConfig) -> list[BenchResult]:
    """Run one benchmark after another; a crash is recorded and the next one still runs."""
    results = []
    for benchmark in selected:
        print(f"-- running {benchmark.NAME}: {benchmark.TITLE}", flush=True)
        started = time.monotonic()
        try:
            result = await benchmark.run(config)
        except Exception as exc:
            traceback.print_exc()
            result = BenchResult(benchmark.NAME, benchmark.TITLE, error=f"{type(exc).__name__}: {exc}")
        result.add("wall time", time.monotonic() - started, "s")
        print(render(result), flush=True)
        results.append(result)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    registry: dict[str, Benchmark] = {benchmark.NAME: benchmark for benchmark in (*BENCHMARKS, *BASELINES)}
    names, config = parse_args(
        argv, default=[b.NAME for b in BENCHMARKS], optional=[b.NAME for b in BASELINES]
    )
    selected = [registry[name] for name in names]
    # Raised before any server starts, so the servers inherit the limit their thousands of streams need.
    open_files = raise_open_file_limit()
    started = datetime.now(UTC)
    results = _run(run_all(selected, config))

    path = RESULTS_DIR / f"{started:%Y%m%dT%H%M%SZ}.json"
    meta = {
        "started": started.isoformat(),
        "commit": _commit(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "open_files": open_files},
        "config": dataclasses.asdict(config),
    }
    write_json(path, meta, results)
    print("\n== summary ==")
    for result in results:
        verdict = "ERROR" if result.error else "PASS" if result.passed else "FAIL"
        print(f"  {verdict:<5}  {result.name}: {result.title}")
    print(f"  results written to {path}")
    return 1 if any(result.error for result in results) else 0


def _run(main_coroutine: Coroutine[Any, Any, list[BenchResult]]) -> list[BenchResult]:
    """Run on uvloop when it is installed, as the servers do, so the client is not the bottleneck."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_coroutine)
    return uvloop.run(main_coroutine)


def _commit() -> str | None:
    """The checked-out commit, so stored results can be compared across changes."""
    git = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=RESULTS_DIR.parent
    )
    return git.stdout.strip() or None


if __name__ == "__main__":
    sys.exit(main())
