"""B2 paging: reading pages of 50 messages must cost the same at any depth of a long conversation.

A conversation is filled with ``b2_messages`` messages, then read over 64 connections: pages at the
newest end (``?limit=50``) and pages ending at random depths (``?before=S&limit=50``). Both are compared
with BASE_HTTP answering GETs, and with each other.
"""

from __future__ import annotations

import random

from bench import baseline_fastapi, baseline_http
from bench.api import ApiClient, append_requests, messages_path, signed_up
from bench.config import BenchConfig
from bench.loadgen import LoadResult, Request, run_load
from bench.payloads import bearer_headers
from bench.report import BenchResult, Target, at_least, exactly
from bench.server import running_threadline
from bench.stats import ratio

NAME = "b2"
TITLE = "B2 paging: GET /v1/conversations/{id}/messages, 50 per page"
PAGE = 50
MIN_RATIO = 0.15
MIN_DEEP_TO_NEWEST = 0.9
#: Fixed so that two runs read the same depths.
SEED = 2


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    count, pages = config.b2_messages, config.b2_pages
    if count <= PAGE:
        raise ValueError(f"b2 needs more than {PAGE} messages to page through, got {count}")
    async with running_threadline(config) as server, signed_up(server) as api:
        conversation = await api.create_conversation(await api.create_workspace("bench b2"), "b2")
        fill = await run_load(
            server.host,
            server.port,
            append_requests([conversation], count, api.token),
            connections=config.connections,
            time_limit=config.time_limit,
        )
        stored = fill.count - fill.errors
        result.add("fill: appends/s", fill.throughput)
        result.targets.append(exactly("fill: errors", fill.errors, 0))
        depths = random.Random(SEED).choices(range(PAGE + 1, stored + 1), k=pages)
        result.targets.append(await _pages_correct(api, conversation, stored, depths[0]))

        headers = bearer_headers(api.token)
        base = await baseline_http.measure(baseline_http.gets(pages, headers), config)
        framework = await baseline_fastapi.measure(baseline_fastapi.gets(pages, headers), config)
        path = messages_path(conversation)
        newest = [Request("GET", f"{path}?limit={PAGE}", headers)] * pages
        deep = (Request("GET", f"{path}?before={depth}&limit={PAGE}", headers) for depth in depths)
        loads: dict[str, LoadResult] = {}
        for label, requests in (("newest", newest), ("deep", deep)):
            loads[label] = await run_load(
                server.host,
                server.port,
                requests,
                connections=config.connections,
                time_limit=config.time_limit,
            )

    result.add_load("BASE_HTTP GET", base, "req/s")
    baseline_fastapi.report(result, "GET", framework, base)
    for label, load in loads.items():
        throughput_ratio = ratio(load.throughput, base.throughput)
        result.add_load(f"{label} pages", load, "pages/s")
        result.add(f"{label} pages: ratio to BASE_HTTP", throughput_ratio)
        result.add(f"{label} pages: ratio to BASE_FASTAPI", ratio(load.throughput, framework.throughput))
        result.targets += [
            at_least(f"{label} pages: ratio to BASE_HTTP", throughput_ratio, MIN_RATIO),
            exactly(f"{label} pages: errors", load.errors, 0),
        ]
    deep_to_newest = ratio(loads["deep"].throughput, loads["newest"].throughput)
    result.add("deep / newest throughput", deep_to_newest)
    result.targets.append(at_least("deep / newest throughput", deep_to_newest, MIN_DEEP_TO_NEWEST))
    result.notes.append(
        f"{stored:,} messages, {pages:,} pages per phase over {config.connections} connections"
    )
    return result


async def _pages_correct(api: ApiClient, conversation_id: str, count: int, depth: int) -> Target:
    """The newest page and one deep page hold exactly the ``seq`` numbers the contract promises."""
    newest, _ = await api.page_seqs(conversation_id, f"limit={PAGE}")
    deep, _ = await api.page_seqs(conversation_id, f"before={depth}&limit={PAGE}")
    expected_newest = list(range(count - PAGE + 1, count + 1))
    expected_deep = list(range(depth - PAGE, depth))
    ok = newest == expected_newest and deep == expected_deep
    detail = (
        "newest and deep pages hold the expected seq" if ok else f"newest {newest[:3]}…, deep {deep[:3]}…"
    )
    return Target("pages hold the right messages", ok, detail)
