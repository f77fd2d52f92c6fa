"""B4 fan-out: one message broadcast to thousands of subscribers of a conversation, round after round.

For each size in ``fan_sizes`` the latency from sending the POST to each subscriber's parsed event is
compared with BASE_FAN at the same size, and the worst round with the median round, so that one slow
round (a stall, a collection pause, a lock) cannot hide in an average.
"""

from __future__ import annotations

from bench import baseline_fan
from bench.api import signed_up
from bench.broadcast import time_broadcasts
from bench.config import BenchConfig
from bench.fanout import FanResult
from bench.report import BenchResult, at_most, exactly
from bench.server import running_threadline
from bench.stats import ratio

NAME = "b4"
TITLE = "B4 fan-out: one message -> N subscribers of a conversation"
MAX_P99_TO_BASE = 1.5
MAX_ROUND_SPREAD = 2.0


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    sizes, rounds = config.fan_counts, config.fan_rounds
    bases = {size: await baseline_fan.measure(size, rounds, config) for size in sizes}
    async with running_threadline(config) as server, signed_up(server) as api:
        workspace = await api.create_workspace("bench b4")
        for size in sizes:
            conversation = await api.create_conversation(workspace, f"b4 {size}")
            broadcast = await time_broadcasts(
                api, conversation, [(server, size)], rounds=rounds, config=config
            )
            _report(result, size, broadcast.fan, bases[size], broadcast.refused)
    result.notes.append(
        f"{rounds} rounds per size; p50/p99 are over all rounds, the ratio uses each side's median round p99"
    )
    return result


def _report(result: BenchResult, size: int, fan: FanResult, base: FanResult, refused: int) -> None:
    label = f"N={size:,}"
    p99_ratio = ratio(fan.median_round_p99, base.median_round_p99)
    for name, measured in (("BASE_FAN", base), ("Threadline", fan)):
        result.add(f"{label}: {name} p50", measured.overall.p50 * 1e3, "ms")
        result.add(f"{label}: {name} p99", measured.overall.p99 * 1e3, "ms")
        result.add(f"{label}: {name} median round p99", measured.median_round_p99 * 1e3, "ms")
        result.add(
            f"{label}: {name} round p99s", " ".join(f"{r.p99 * 1e3:.0f}" for r in measured.rounds), "ms"
        )
    result.add(f"{label}: median round p99 ratio to BASE_FAN", p99_ratio)
    result.add(f"{label}: worst round / median round p99", fan.round_spread)
    result.targets += [
        exactly(f"{label}: streams refused", refused, 0),
        at_most(f"{label}: median round p99 ratio to BASE_FAN", p99_ratio, MAX_P99_TO_BASE),
        at_most(f"{label}: worst round / median round p99", fan.round_spread, MAX_ROUND_SPREAD),
        exactly(f"{label}: missing events", fan.missing, 0),
        exactly(f"{label}: duplicate events", fan.duplicates, 0),
        exactly(f"{label}: out-of-order events", fan.out_of_order, 0),
    ]
