"""B3 event latency: time from sending ``POST …/messages`` to its ``message.created`` event at one subscriber.

Each post waits for its event before the next, ``b3_posts`` times. The reference is the post's own answer,
timed in the same rounds: delivery may add at most a millisecond to the write (event p99 ≤ answer p99 +
1 ms). BASE_FAN(1), timed the same way (publish request sent → event parsed) with its bare queue in place
of Threadline's write and hub, is reported beside it.
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

NAME = "b3"
TITLE = "B3 event latency: POST message -> message.created at 1 subscriber"
MAX_P99_OVER_ANSWER = 1e-3
"""Seconds that delivering an event may add to its write's answer, at p99."""


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    posts = config.b3_posts
    base = await baseline_fan.measure(1, posts, config)
    async with running_threadline(config) as server, signed_up(server) as api:
        conversation = await api.create_conversation(await api.create_workspace("bench b3"), "b3")
        broadcast = await time_broadcasts(
            api, conversation, [(server, 1)], rounds=posts, config=config, require_all=True
        )
    fan = broadcast.fan
    _add(result, "BASE_FAN(1)", base)
    _add(result, "Threadline", fan)
    result.add("Threadline POST answer: p50", fan.answered.p50 * 1e3, "ms")
    result.add("Threadline POST answer: p99", fan.answered.p99 * 1e3, "ms")
    added = fan.overall.p99 - fan.answered.p99
    result.add("event p99 - POST answer p99", added * 1e3, "ms")
    result.add("p99 ratio to BASE_FAN(1)", ratio(fan.overall.p99, base.overall.p99))
    result.targets += [
        at_most("event p99 - POST answer p99 (ms)", added * 1e3, MAX_P99_OVER_ANSWER * 1e3),
        exactly("missing events", fan.missing, 0),
        exactly("duplicate events", fan.duplicates, 0),
        exactly("out-of-order events", fan.out_of_order, 0),
    ]
    result.notes.append(f"{posts} sequential posts, each waiting for its event")
    return result


def _add(result: BenchResult, label: str, fan: FanResult) -> None:
    result.add(f"{label}: p50", fan.overall.p50 * 1e3, "ms")
    result.add(f"{label}: p99", fan.overall.p99 * 1e3, "ms")
    result.add(f"{label}: max", fan.overall.max * 1e3, "ms")
