"""B5 idle subscribers: what ten thousand open, quiet streams cost the server, and whether they stay healthy.

One stream is opened first so one-time costs (code paths, caches) are paid before memory is read; then
``b5_subscribers`` more are opened, held idle for ``b5_idle_seconds`` (longer than a heartbeat), and
the server's resident memory growth is divided by their number and compared with BASE_FAN's growth at the
same count (at most 1.1 times it: the bare app already spends about 27 KiB a stream). Finally a few
messages are broadcast to all of them.
"""

from __future__ import annotations

import asyncio
from functools import partial

from bench import baseline_fan
from bench.api import message_round, signed_up
from bench.config import BenchConfig
from bench.fanout import RoundTracker, measure_rounds, round_pause
from bench.report import BenchResult, at_most, exactly
from bench.server import running_threadline
from bench.sse_client import close_streams
from bench.stats import ratio

NAME = "b5"
TITLE = "B5 idle subscribers: memory, connect rate and health of many quiet streams"
MAX_TO_BASE_FAN = 1.1


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    base_kib = await baseline_fan.idle_bytes_per_stream(config.b5_subscribers, config) / 1024
    async with running_threadline(config) as server, signed_up(server) as api:
        conversation = await api.create_conversation(await api.create_workspace("bench b5"), "b5")
        tracker = RoundTracker(message_round)
        warm = await api.subscribe(conversation, 1, tracker, config)
        warm.require_all()
        rss_before = server.rss_bytes()
        opened = await api.subscribe(conversation, config.b5_subscribers, tracker, config)
        streams = warm.streams + opened.streams
        try:
            await asyncio.sleep(config.b5_idle_seconds)
            rss_after = server.rss_bytes()
            dropped = sum(1 for stream in streams if stream.end_reason is not None)
            heartbeats = sum(stream.parser.comments for stream in streams)
            fan = await measure_rounds(
                tracker,
                partial(api.publish_round, conversation),
                subscribers=len(streams) - dropped,
                rounds=config.fan_rounds,
                pause=round_pause(len(streams)),
            )
        finally:
            await close_streams(streams)

    per_stream_kib = (rss_after - rss_before) / max(len(opened.streams), 1) / 1024
    result.add("streams opened", len(opened.streams), f"of {config.b5_subscribers:,}")
    result.add("connect rate (to ready)", opened.rate, "streams/s")
    result.add("server RSS before", rss_before / 2**20, "MiB")
    result.add("server RSS with the streams open", rss_after / 2**20, "MiB")
    result.add("RSS growth per stream", per_stream_kib, "KiB")
    result.add("BASE_FAN RSS growth per stream", base_kib, "KiB")
    to_base = ratio(per_stream_kib, base_kib)
    result.add("RSS growth per stream: ratio to BASE_FAN", to_base)
    result.add("heartbeat comments received while idle", heartbeats)
    result.add("broadcast p50", fan.overall.p50 * 1e3, "ms")
    result.add("broadcast p99", fan.overall.p99 * 1e3, "ms")
    result.add("broadcast max", fan.overall.max * 1e3, "ms")
    result.targets += [
        at_most("RSS growth per stream: ratio to BASE_FAN", to_base, MAX_TO_BASE_FAN),
        exactly("streams refused", len(opened.failures), 0),
        exactly("streams dropped while idle", dropped, 0),
        exactly("missing broadcast events", fan.missing, 0),
    ]
    if opened.failures:
        result.notes.append(f"first refusal: {opened.failures[0]}")
    result.notes.append(f"held idle {config.b5_idle_seconds:.0f} s; {config.fan_rounds} broadcast rounds")
    return result
