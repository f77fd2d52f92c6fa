"""Threadline broadcast rounds, shared by B3, B4 and B6.

Streams subscribe to one conversation's events on one server process or spread over several (which
then share a database and an event bus); each round posts one message through the API client's own
server and times its ``message.created`` event at every stream, per round and per server process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from bench.api import ApiClient, message_round
from bench.config import BenchConfig
from bench.fanout import FanResult, RoundTracker, measure_rounds, round_pause
from bench.procs import ServerProcess
from bench.sse_client import close_streams

#: Seconds to keep listening after the last round, so late duplicate or out-of-order events still count.
SETTLE_SECONDS = 0.5

#: How many streams to open on which server process.
Spread = Sequence[tuple[ServerProcess, int]]


@dataclass(frozen=True, slots=True)
class Broadcast:
    """The timed rounds, and why any stream failed to open (those take no part in the rounds)."""

    fan: FanResult
    failures: list[str] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.failures)


def split_evenly(count: int, servers: Sequence[ServerProcess]) -> list[tuple[ServerProcess, int]]:
    """``count`` streams dealt over ``servers``, the first ones taking one more when it does not divide."""
    share, extra = divmod(count, len(servers))
    return [(server, share + (index < extra)) for index, server in enumerate(servers)]


async def time_broadcasts(
    api: ApiClient,
    conversation_id: str,
    spread: Spread,
    *,
    rounds: int,
    config: BenchConfig,
    require_all: bool = False,
) -> Broadcast:
    """Open the streams of ``spread``, run ``rounds`` posts through ``api``, close the streams.

    ``FanResult.groups`` holds the latency at each server of ``spread``, in its order. With
    ``require_all`` a stream that fails to open raises ``StreamsFailed`` instead of being reported.
    """
    tracker = RoundTracker(message_round)
    opened = [
        await api.subscribe(conversation_id, count, tracker, config, at=server) for server, count in spread
    ]
    streams = [stream for group in opened for stream in group.streams]
    try:
        if require_all:
            for group in opened:
                group.require_all()
        fan = await measure_rounds(
            tracker,
            partial(api.publish_round, conversation_id),
            subscribers=len(streams),
            rounds=rounds,
            pause=round_pause(sum(count for _, count in spread)),
            groups=[group.streams for group in opened],
            settle=SETTLE_SECONDS,
        )
    finally:
        await close_streams(streams)
    return Broadcast(fan, [failure for group in opened for failure in group.failures])
