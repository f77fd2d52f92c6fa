"""B1 append: how fast messages can be appended, and whether that holds as a conversation grows.

Pass one appends ``b1_messages`` ~200-byte messages to one conversation over 64 keep-alive
connections; pass two spreads as many over ``b1_conversations`` conversations. Each pass is compared
with BASE_LEAN doing the same appends on a copy of the same (fresh) database, one transaction each (what
Threadline's layers and its group commit cost or save), and with BASE_HTTP and BASE_FASTAPI for
reference; then checked over HTTP: every conversation must hold exactly its successful appends, numbered
1..k, in Threadline and in BASE_LEAN alike.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence

from bench import baseline_fastapi, baseline_http, baseline_lean
from bench.api import ApiClient, append_requests, signed_up
from bench.config import BenchConfig
from bench.loadgen import LoadResult, run_load
from bench.payloads import bearer_headers
from bench.report import BenchResult, Target, at_least, at_most, exactly
from bench.server import SECRET_KEY, database_file, running_threadline
from bench.stats import flatness, ratio

NAME = "b1"
TITLE = "B1 append: POST /v1/conversations/{id}/messages"
MIN_RATIO_TO_LEAN = 1.2
MAX_FLATNESS = 1.1


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    count = config.b1_messages
    secret = secrets.token_urlsafe(32)
    async with running_threadline(config, env={SECRET_KEY: secret}) as server, signed_up(server) as api:
        workspace = await api.create_workspace("bench b1")
        single = [await api.create_conversation(workspace, "b1 one conversation")]
        spread = [
            await api.create_conversation(workspace, f"b1 spread {i}") for i in range(config.b1_conversations)
        ]
        passes = (("1 conversation", single), (f"{len(spread)} conversations", spread))
        headers = bearer_headers(api.token)
        base = await baseline_http.measure(baseline_http.posts(count, headers), config)
        framework = await baseline_fastapi.measure(baseline_fastapi.posts(count, headers), config)
        result.add_load("BASE_HTTP POST", base, "req/s")
        baseline_fastapi.report(result, "POST", framework, base)
        lean: dict[str, LoadResult] = {}
        async with baseline_lean.running(database_file(server), secret) as lean_server:
            lean_api = ApiClient.of(lean_server, api.token)
            for label, conversations in passes:
                requests = append_requests(conversations, count, api.token)
                lean[label] = await baseline_lean.measure(lean_server, requests, config)
                result.add_load(f"BASE_LEAN {label}", lean[label], "appends/s")
                problem = await seq_problem(lean_api, conversations, lean[label])
                result.targets.append(seq_target(f"BASE_LEAN {label}", problem))
            lean_api.close()
        for label, conversations in passes:
            load = await run_load(
                server.host,
                server.port,
                append_requests(conversations, count, api.token),
                connections=config.connections,
                time_limit=config.time_limit,
            )
            problem = await seq_problem(api, conversations, load)
            _report(result, label, load, lean[label], problem)
            result.add(f"{label}: ratio to BASE_HTTP", ratio(load.throughput, base.throughput))
            result.add(f"{label}: ratio to BASE_FASTAPI", ratio(load.throughput, framework.throughput))
    result.notes.append(
        f"{count:,} appends per pass over {config.connections} connections; BASE_LEAN appends to a copy of "
        "the same fresh database, one transaction per post"
    )
    return result


async def seq_problem(api: ApiClient, conversations: Sequence[str], load: LoadResult) -> str | None:
    """What is wrong with the stored messages, if anything.

    Each conversation must hold exactly the appends answered 2xx, numbered 1..k without gaps or repeats.
    """
    expected = Counter(index % len(conversations) for index in load.succeeded())
    for position, conversation_id in enumerate(conversations):
        seqs, appended = await api.all_seqs(conversation_id), expected[position]
        if seqs != list(range(1, appended + 1)):
            span = f"seq {seqs[0]}..{seqs[-1]}" if seqs else "none"
            return f"conversation {conversation_id}: {len(seqs):,} messages ({span}), {appended:,} appended"
    return None


def _report(result: BenchResult, label: str, load: LoadResult, lean: LoadResult, problem: str | None) -> None:
    to_lean = ratio(load.throughput, lean.throughput)
    flat = flatness(load.latencies)
    result.add_load(label, load, "appends/s")
    result.add(f"{label}: ratio to BASE_LEAN", to_lean)
    result.add(f"{label}: flatness (median last 1,000 / first 1,000)", flat)
    # Windows of 1,000 last about half a second, which one burst of another tenant's load can fill; ten
    # times as long shows whether cost grows with size, without a target of its own.
    result.add(f"{label}: flatness over 10,000 (no target)", flatness(load.latencies, window=10_000))
    result.targets += [
        at_least(f"{label}: throughput ratio to BASE_LEAN", to_lean, MIN_RATIO_TO_LEAN),
        at_most(f"{label}: flatness", flat, MAX_FLATNESS),
        exactly(f"{label}: errors", load.errors, 0),
        seq_target(label, problem),
    ]


def seq_target(label: str, problem: str | None) -> Target:
    """The target ``seq_problem``'s answer is checked against."""
    return Target(
        f"{label}: stored seq exactly 1..N", problem is None, problem or "every conversation holds 1..k"
    )
