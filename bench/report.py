"""What a benchmark hands back, how it is printed as a table, and how it is kept as JSON."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.loadgen import LoadResult

Value = int | float | str


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number, or a short text, with its unit."""

    label: str
    value: Value
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """A goal the benchmark checks; ``detail`` shows the measured value against the limit."""

    label: str
    passed: bool
    detail: str


def at_least(label: str, value: float, limit: float) -> Target:
    return Target(label, value >= limit, f"{_format(value)} >= {_format(limit)}")


def at_most(label: str, value: float, limit: float) -> Target:
    return Target(label, value <= limit, f"{_format(value)} <= {_format(limit)}")


def exactly(label: str, value: Value, expected: Value) -> Target:
    return Target(label, value == expected, f"{_format(value)} == {_format(expected)}")


@dataclass(slots=True)
class BenchResult:
    """Everything one benchmark reports: figures (baselines and ratios included), targets, notes."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def add(self, label: str, value: Value, unit: str = "") -> None:
        self.figures.append(Figure(label, value, unit))

    def add_load(self, label: str, load: LoadResult, unit: str) -> None:
        """The standard figures of one load run: throughput, latency percentiles, errors, client load."""
        dist = load.distribution()
        self.add(f"{label}: throughput", load.throughput, unit)
        self.add(f"{label}: p50", dist.p50 * 1e3, "ms")
        self.add(f"{label}: p90", dist.p90 * 1e3, "ms")
        self.add(f"{label}: p99", dist.p99 * 1e3, "ms")
        self.add(f"{label}: errors", load.errors, f"of {load.count:,}")
        self.add(f"{label}: load generator CPU", load.client_load, "of a core")
        if load.errors:
            self.notes.append(f"{label}: statuses {load.status_counts()} (0 = socket error)")
        if load.timed_out:
            self.notes.append(f"{label}: stopped by the time limit before all requests were sent")

    @property
    def passed(self) -> bool:
        return self.error is None and all(target.passed for target in self.targets)


def render(result: BenchResult) -> str:
    """The result as a plain-text table for the terminal."""
    lines = [f"== {result.title} =="]
    width = max((len(figure.label) for figure in result.figures), default=0)
    lines.extend(
        f"  {figure.label:<{width}}  {_format(figure.value):>14}  {figure.unit}".rstrip()
        for figure in result.figures
    )
    if result.targets:
        lines.append("  targets:")
        lines.extend(
            f"    {'PASS' if target.passed else 'FAIL'}  {target.label}: {target.detail}"
            for target in result.targets
        )
    lines.extend(f"  note: {note}" for note in result.notes)
    if result.error is not None:
        lines.append(f"  ERROR: {result.error}")
    return "\n".join(lines)


def write_json(path: Path, meta: dict[str, Any], results: list[BenchResult]) -> None:
    """Keep the run as JSON so figures can be compared across commits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**meta, "results": [dataclasses.asdict(result) for result in results]}
    path.write_text(json.dumps(_finite(document), indent=2, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    """Replace NaN or infinity (a figure that could not be measured) with null, as strict JSON wants."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _format(value: Value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
