"""BASE_FAN: the cheapest possible fan-out on this stack, one ``asyncio.Queue`` per SSE client.

``GET /stream`` subscribes (``retry`` and a ``ready`` event first, like Threadline); ``POST /publish``
puts one small JSON event, carrying the publisher's send timestamp, into every client's queue and
answers 202. Run directly with ``python -m bench.baseline_fan --port N``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from bench import procs
from bench.config import BenchConfig
from bench.fanout import FanResult, RoundTracker, measure_rounds, round_pause
from bench.http1 import Connection
from bench.payloads import JSON_HEADERS
from bench.report import BenchResult
from bench.sse_client import READY_EVENT, SseEvent, close_streams, open_streams

NAME = "base_fan"
TITLE = "BASE_FAN: bare Starlette SSE fan-out, one asyncio.Queue per client"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: Nothing happens on an idle baseline stream, so a short pause lets memory settle.
IDLE_SETTLE_SECONDS = 2.0

_queues: set[asyncio.Queue[str]] = set()
_ids = itertools.count(1)


async def _stream(_: HttpRequest) -> StreamingResponse:
    queue: asyncio.Queue[str] = asyncio.Queue()

    async def frames() -> AsyncIterator[str]:
        _queues.add(queue)
        try:
            yield f"retry: 3000\n\nevent: {READY_EVENT}\ndata: {{}}\n\n"
            while True:
                yield await queue.get()
        finally:
            _queues.discard(queue)

    return StreamingResponse(frames(), media_type="text/event-stream", headers=STREAM_HEADERS)


async def _publish(request: HttpRequest) -> JSONResponse:
    payload = await request.json()
    frame = f"id: {next(_ids)}\nevent: message.created\ndata: {json.dumps(payload)}\n\n"
    for queue in _queues:
        queue.put_nowait(frame)
    return JSONResponse({"subscribers": len(_queues)}, status_code=202)


async def _ping(_: HttpRequest) -> JSONResponse:
    return JSONResponse({"status": "ready"})


app = Starlette(
    routes=[
        Route("/stream", _stream, methods=["GET"]),
        Route("/publish", _publish, methods=["POST"]),
        Route("/ping", _ping, methods=["GET"]),
    ]
)


def _round_of(event: SseEvent) -> int | None:
    if event.event != "message.created":
        return None
    round_: int = json.loads(event.data)["round"]
    return round_


async def measure(subscribers: int, rounds: int, config: BenchConfig) -> FanResult:
    """Publish ``rounds`` events to ``subscribers`` clients of a fresh baseline and time each arrival."""
    async with procs.running_baseline(__name__) as server:
        tracker = RoundTracker(_round_of)
        opened = await open_streams(
            server.host,
            server.port,
            "/stream",
            subscribers,
            concurrency=config.connect_concurrency,
            on_event=tracker.on_event,
        )
        publisher = Connection(server.host, server.port)

        async def publish(round_: int) -> None:
            body = json.dumps({"round": round_, "sent": time.monotonic()}).encode()
            response = await publisher.request("POST", "/publish", JSON_HEADERS, body)
            if response.status != 202:
                raise RuntimeError(f"BASE_FAN publish answered {response.status}")

        try:
            opened.require_all()
            return await measure_rounds(
                tracker,
                publish,
                subscribers=len(opened.streams),
                rounds=rounds,
                pause=round_pause(subscribers),
            )
        finally:
            publisher.close()
            await close_streams(opened.streams)


async def idle_bytes_per_stream(subscribers: int, config: BenchConfig) -> float:
    """Server memory growth per open, idle stream, read the way B5 reads Threadline's."""
    async with procs.running_baseline(__name__) as server:
        warm = await open_streams(server.host, server.port, "/stream", 1, concurrency=1)
        rss_before = server.rss_bytes()
        opened = await open_streams(
            server.host, server.port, "/stream", subscribers, concurrency=config.connect_concurrency
        )
        try:
            opened.require_all()
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            return (server.rss_bytes() - rss_before) / subscribers
        finally:
            await close_streams(warm.streams + opened.streams)


async def run(config: BenchConfig) -> BenchResult:
    """The baseline alone at one subscriber and at each fan-out size."""
    result = BenchResult(NAME, TITLE)
    for subscribers, rounds in ((1, config.b3_posts), *((n, config.fan_rounds) for n in config.fan_counts)):
        fan = await measure(subscribers, rounds, config)
        label = f"N={subscribers:,}"
        result.add(f"{label}: p50", fan.overall.p50 * 1e3, "ms")
        result.add(f"{label}: p99", fan.overall.p99 * 1e3, "ms")
        if subscribers > 1:
            result.add(f"{label}: median round p99", fan.median_round_p99 * 1e3, "ms")
            result.add(f"{label}: round p99s", " ".join(f"{r.p99 * 1e3:.0f}" for r in fan.rounds), "ms")
        result.add(f"{label}: missing deliveries", fan.missing)
    idle = await idle_bytes_per_stream(config.b5_subscribers, config)
    result.add(f"RSS growth per idle stream at N={config.b5_subscribers:,}", idle / 1024, "KiB")
    return result


if __name__ == "__main__":
    procs.serve_baseline(app)
