"""B6 scale-out: two ``threadline serve`` processes sharing PostgreSQL and an event bus, against one.

Latency (B3 and B4 again) is measured three times in the same run: one process on SQLite with the
``memory`` bus (the reference, as B3 and B4 run it), then two processes on one throw-away PostgreSQL
database with the ``redis`` bus and with the ``postgres`` bus. With two processes every post goes
through the first; B3's single subscriber listens on the second, so each event crosses the bus, and
B4's subscribers are split evenly over both. Every subscriber must receive every post's event exactly
once, with strictly increasing ids.

Appends (B1 again, ``b6_messages`` per pass, into one conversation and then over ``b1_conversations``)
are measured with one process and with two (the connections dealt over both) on PostgreSQL; both use the
``redis`` bus, so that the number of processes is the only difference. Afterwards every conversation
must hold exactly its successful appends as ``seq`` 1..k.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from bench.api import append_requests, signed_up
from bench.b1_append import seq_problem, seq_target
from bench.broadcast import Broadcast, split_evenly, time_broadcasts
from bench.config import BenchConfig
from bench.fanout import FanResult
from bench.loadgen import LoadResult, run_load_spread
from bench.postgres import throwaway_database
from bench.report import BenchResult, Target, at_most, exactly
from bench.server import running_threadlines
from bench.stats import ratio

NAME = "b6"
TITLE = "B6 scale-out: two processes on PostgreSQL sharing a Redis or PostgreSQL event bus"
MAX_P50_TO_SINGLE = 1.5
BUSES = ("redis", "postgres")
APPEND_BUS = "redis"
SINGLE = "1 proc memory+SQLite"
DATABASE_URL = "THREADLINE_DATABASE_URL"
EVENT_BUS = "THREADLINE_EVENT_BUS"


@dataclass(frozen=True, slots=True)
class Latency:
    """B3 (one subscriber, on the last process) and B4 (subscribers split evenly) on one deployment."""

    b3: Broadcast
    b4: Broadcast


@dataclass(frozen=True, slots=True)
class AppendPass:
    label: str
    load: LoadResult
    problem: str | None


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    with tempfile.TemporaryDirectory(prefix="threadline-bench-b6-") as tmp:
        single = await _latency(
            config, 1, {DATABASE_URL: f"sqlite+aiosqlite:///{tmp}/bench.db", EVENT_BUS: "memory"}
        )
    _report_latency(result, SINGLE, single)
    for bus in BUSES:
        async with throwaway_database(config.postgres_dsn) as url:
            two = await _latency(config, 2, {DATABASE_URL: url, EVENT_BUS: bus})
        _report_latency(result, f"2 proc {bus}+PG", two, single)

    appends: dict[int, list[AppendPass]] = {}
    for processes in (1, 2):
        async with throwaway_database(config.postgres_dsn) as url:
            appends[processes] = await _appends(config, processes, {DATABASE_URL: url, EVENT_BUS: APPEND_BUS})
    _report_appends(result, appends[1], appends[2])

    result.notes += [
        f"B3: {config.b3_posts} sequential posts; B4: {config.b6_subscribers:,} subscribers, "
        f"{config.fan_rounds} rounds; posts go to process 1, B3's subscriber is on the last process",
        f"B1: {config.b6_messages:,} appends per pass over {config.connections} connections, "
        f"{APPEND_BUS} bus for one and two processes",
        "PostgreSQL and Redis are the machine's shared servers; B6 uses its own throw-away databases",
    ]
    return result


async def _latency(config: BenchConfig, processes: int, env: Mapping[str, str]) -> Latency:
    async with running_threadlines(config, processes, env=env) as servers, signed_up(servers[0]) as api:
        workspace = await api.create_workspace("bench b6")
        b3 = await time_broadcasts(
            api,
            await api.create_conversation(workspace, "b6 b3"),
            [(servers[-1], 1)],
            rounds=config.b3_posts,
            config=config,
            require_all=True,
        )
        b4 = await time_broadcasts(
            api,
            await api.create_conversation(workspace, "b6 b4"),
            split_evenly(config.b6_subscribers, servers),
            rounds=config.fan_rounds,
            config=config,
        )
    return Latency(b3, b4)


async def _appends(config: BenchConfig, processes: int, env: Mapping[str, str]) -> list[AppendPass]:
    passes = []
    async with running_threadlines(config, processes, env=env) as servers, signed_up(servers[0]) as api:
        workspace = await api.create_workspace("bench b6 appends")
        single = [await api.create_conversation(workspace, "b6 one conversation")]
        spread = [
            await api.create_conversation(workspace, f"b6 spread {i}") for i in range(config.b1_conversations)
        ]
        for label, conversations in (("1 conversation", single), (f"{len(spread)} conversations", spread)):
            load = await run_load_spread(
                [(server.host, server.port) for server in servers],
                append_requests(conversations, config.b6_messages, api.token),
                connections=config.connections,
                time_limit=config.time_limit,
            )
            passes.append(AppendPass(label, load, await seq_problem(api, conversations, load)))
    return passes


def _report_latency(result: BenchResult, label: str, latency: Latency, single: Latency | None = None) -> None:
    b3, b4 = latency.b3.fan, latency.b4.fan
    result.add(f"{label}: B3 p50", b3.overall.p50 * 1e3, "ms")
    result.add(f"{label}: B3 p99", b3.overall.p99 * 1e3, "ms")
    result.add(f"{label}: B3 max", b3.overall.max * 1e3, "ms")
    size = f"B4 N={b4.subscribers:,}"
    result.add(f"{label}: {size} p50", b4.overall.p50 * 1e3, "ms")
    result.add(f"{label}: {size} p99", b4.overall.p99 * 1e3, "ms")
    result.add(f"{label}: {size} median round p99", b4.median_round_p99 * 1e3, "ms")
    if len(b4.groups) > 1:
        result.add(
            f"{label}: {size} p50 by process",
            " / ".join(f"{group.p50 * 1e3:.1f}" for group in b4.groups),
            "ms (process 1 takes the posts)",
        )
    result.targets += [
        _delivery(f"{label}: B3", b3),
        exactly(f"{label}: {size} streams refused", latency.b4.refused, 0),
        _delivery(f"{label}: {size}", b4),
    ]
    if latency.b4.failures:
        result.notes.append(f"{label}: first refusal: {latency.b4.failures[0]}")
    if single is None:
        return
    for name, two, one in (("B3", b3, single.b3.fan), ("B4", b4, single.b4.fan)):
        p50_ratio = ratio(two.overall.p50, one.overall.p50)
        result.add(f"{label}: {name} p50 / {SINGLE}", p50_ratio)
        result.targets.append(at_most(f"{label}: {name} p50 / {SINGLE}", p50_ratio, MAX_P50_TO_SINGLE))


def _delivery(label: str, fan: FanResult) -> Target:
    """Every post's event exactly once at every stream, ids strictly increasing."""
    counts = (fan.missing, fan.duplicates, fan.out_of_order)
    return Target(
        f"{label} events lost / duplicated / out of order",
        counts == (0, 0, 0),
        f"{' / '.join(f'{count:,}' for count in counts)} == 0 / 0 / 0",
    )


def _report_appends(result: BenchResult, one: list[AppendPass], two: list[AppendPass]) -> None:
    for single, double in zip(one, two, strict=True):
        for processes, measured in (("1 proc", single), ("2 proc", double)):
            label = f"B1 {processes} PG, {measured.label}"
            result.add_load(label, measured.load, "appends/s")
            result.targets += [
                exactly(f"{label}: errors", measured.load.errors, 0),
                seq_target(label, measured.problem),
            ]
        result.add(
            f"B1 {single.label}: 2 proc / 1 proc throughput",
            ratio(double.load.throughput, single.load.throughput),
        )
