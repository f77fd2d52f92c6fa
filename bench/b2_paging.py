"""B2 paging: reading pages of 50 messages, at any depth of a long conversation, and revalidating one.

A conversation is filled with ``b2_messages`` messages, then read over 64 connections: pages at the
newest end (``?limit=50``) and pages ending at random depths (``?before=S&limit=50``). Both are compared
with BASE_LEAN doing the same reads on a copy of the same database (what the layers cost), with BASE_HTTP
and BASE_FASTAPI (for reference), and with each other. Then the newest page is revalidated with its
``ETag``: each request answers 304, and must cost at most half a full page.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator

from bench import baseline_fastapi, baseline_http, baseline_lean
from bench.api import ApiClient, append_requests, get_once, messages_path, signed_up
from bench.config import BenchConfig
from bench.loadgen import LoadResult, Request, run_load
from bench.payloads import bearer_headers
from bench.procs import ServerProcess
from bench.report import BenchResult, Target, at_least, exactly
from bench.server import SECRET_KEY, database_file, running_threadline
from bench.stats import ratio

NAME = "b2"
TITLE = "B2 paging: GET /v1/conversations/{id}/messages, 50 per page"
PAGE = 50
MIN_RATIO_TO_LEAN = 0.9
MIN_DEEP_TO_NEWEST = 0.9
MIN_REVALIDATED_TO_FULL = 2.0
#: Fixed so that two runs read the same depths.
SEED = 2

Phases = dict[str, Callable[[], Iterator[Request]]]


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    count, pages = config.b2_messages, config.b2_pages
    if count <= PAGE:
        raise ValueError(f"b2 needs more than {PAGE} messages to page through, got {count}")
    secret = secrets.token_urlsafe(32)
    async with running_threadline(config, env={SECRET_KEY: secret}) as server, signed_up(server) as api:
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
        path = messages_path(conversation)
        phases: Phases = {
            "newest": lambda: iter([Request("GET", f"{path}?limit={PAGE}", headers)] * pages),
            "deep": lambda: (
                Request("GET", f"{path}?before={depth}&limit={PAGE}", headers) for depth in depths
            ),
        }
        base = await baseline_http.measure(baseline_http.gets(pages, headers), config)
        framework = await baseline_fastapi.measure(baseline_fastapi.gets(pages, headers), config)
        loads = {label: await _load(server, requests(), config) for label, requests in phases.items()}
        tag = (await get_once(server, f"{path}?limit={PAGE}", headers)).headers["etag"]
        revalidation = [Request("GET", f"{path}?limit={PAGE}", {**headers, "If-None-Match": tag})] * pages
        revalidated = await _load(server, iter(revalidation), config)
        async with baseline_lean.running(database_file(server), secret) as lean:
            lean_loads = {
                label: await baseline_lean.measure(lean, requests(), config)
                for label, requests in phases.items()
            }
            sample = f"{path}?before={depths[0]}&limit={PAGE}"
            result.targets.append(await baseline_lean.same_answers(server, lean, [sample], headers))

    result.add_load("BASE_HTTP GET", base, "req/s")
    baseline_fastapi.report(result, "GET", framework, base)
    for label, load in loads.items():
        lean_load = lean_loads[label]
        to_lean = ratio(load.throughput, lean_load.throughput)
        result.add_load(f"BASE_LEAN {label}", lean_load, "pages/s")
        result.add_load(f"{label} pages", load, "pages/s")
        result.add(f"{label} pages: ratio to BASE_LEAN", to_lean)
        result.add(f"{label} pages: ratio to BASE_HTTP", ratio(load.throughput, base.throughput))
        result.add(f"{label} pages: ratio to BASE_FASTAPI", ratio(load.throughput, framework.throughput))
        result.targets += [
            at_least(f"{label} pages: ratio to BASE_LEAN", to_lean, MIN_RATIO_TO_LEAN),
            exactly(f"{label} pages: errors", load.errors, 0),
            exactly(f"BASE_LEAN {label}: errors", lean_load.errors, 0),
        ]
    deep_to_newest = ratio(loads["deep"].throughput, loads["newest"].throughput)
    result.add("deep / newest throughput", deep_to_newest)
    result.targets.append(at_least("deep / newest throughput", deep_to_newest, MIN_DEEP_TO_NEWEST))
    _report_revalidation(result, revalidated, loads["newest"], pages)
    result.notes.append(
        f"{stored:,} messages, {pages:,} pages per phase over {config.connections} connections; BASE_LEAN "
        "reads a copy of the same database"
    )
    return result


def _report_revalidation(result: BenchResult, revalidated: LoadResult, full: LoadResult, pages: int) -> None:
    to_full = ratio(revalidated.throughput, full.throughput)
    result.add_load("304 revalidations", revalidated, "req/s")
    result.add("304 revalidations / full newest pages", to_full)
    result.targets += [
        at_least("304 revalidations / full newest pages", to_full, MIN_REVALIDATED_TO_FULL),
        exactly("304 revalidations: answered 304", revalidated.status_counts().get(304, 0), pages),
    ]


async def _load(server: ServerProcess, requests: Iterator[Request], config: BenchConfig) -> LoadResult:
    return await run_load(
        server.host, server.port, requests, connections=config.connections, time_limit=config.time_limit
    )


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
