"""Percentiles and the other small statistics every benchmark reports."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of sorted values, interpolated between closest ranks; NaN if none."""
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Summary of a set of latencies, in seconds."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        ordered = sorted(values)
        return cls(
            count=len(ordered),
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p99=percentile(ordered, 99),
            max=ordered[-1] if ordered else math.nan,
        )


def flatness(latencies: Sequence[float], window: int = 1000) -> float:
    """Median of the last ``window`` latencies over the median of the first ``window``.

    The latencies must be in completion order; short runs use halves so the two windows never overlap.
    A value near 1 means the cost of a request did not grow as the data grew.
    """
    size = min(window, len(latencies) // 2)
    if size == 0:
        return math.nan
    return statistics.median(latencies[-size:]) / statistics.median(latencies[:size])


def ratio(value: float, reference: float) -> float:
    """``value / reference``, NaN instead of a ZeroDivisionError when the reference is missing."""
    return value / reference if reference else math.nan
