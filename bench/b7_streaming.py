"""B7 streaming replies: many assistant replies growing at once, delta by delta, watched by many streams.

On each deployment (one process on SQLite with the ``memory`` bus; two processes on a throw-away
PostgreSQL database with the ``redis`` bus, the authors writing to the first, the subscribers split over
both, as in B6) B7 runs, in this order, each phase with its own fresh streams and replies:

1. ``b7_replies`` replies at once, ``b7_deltas`` deltas of 4 characters each at ``b7_rate`` a second
   per reply, one JSON request per delta, ``b7_subscribers`` streams dealt over the conversations;
2. the same with one NDJSON upload per reply (a chunked request body, a line written when due);
3. the comparison: the same pieces posted as whole messages (one ``POST …/messages`` each, same count,
   cadence, connections and streams), timed from post to ``message.created``. It keeps every other
   condition of (1) (writes a second, bytes a write, events a second, fan-out), so the difference is
   the cost of a delta against a message; posting each reply whole once would give 20 samples, and
   posting 1,600-character messages at 25 a second would measure 400 times the bytes instead;
4. one long reply: ``b7_long_deltas`` deltas, sequential JSON, as fast as answers come, whose last
   answers must be no slower than its first (the storage must not grow a delta's cost with the reply);
5. the rate ladder for each of JSON and NDJSON: phase (1) or (2) is its first step; each further step of
   ``b7_ladder`` runs for ``b7_step_seconds``, and the ladder stops at the first step that fails.

A step passes when its delta → subscriber p99 is within ``MAX_P99``, the authors kept
``MIN_SUSTAINED`` of the offered rate, and nothing was refused, lost, duplicated, out of order or wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from bench.api import ApiClient, messages_path, signed_up
from bench.config import BenchConfig
from bench.http1 import Connection
from bench.payloads import bearer_headers
from bench.postgres import throwaway_database
from bench.procs import ServerProcess, process_cpu_seconds
from bench.rebuild import Delivery, check_deltas, check_messages
from bench.report import BenchResult, Target, at_least, at_most
from bench.server import running_threadlines
from bench.stats import Distribution, flatness, ratio
from bench.streaming import (
    Pace,
    Recorder,
    Reply,
    Sent,
    Subscribers,
    count_delta_rows,
    database_backends,
    open_subscribers,
    post_paced,
    reply_pieces,
    send_json_deltas,
    upload_ndjson_deltas,
)

NAME = "b7"
TITLE = "B7 streaming replies: deltas -> subscribers, JSON and NDJSON, SQLite and PostgreSQL+Redis"
MAX_P99 = 0.100
"""Seconds: delta → subscriber p99 target, at the base rate and at every step of the ladder."""
MAX_FLATNESS = 1.2
MIN_SUSTAINED = 0.95
"""Share of the offered delta rate the authors must keep for a ladder step to count as sustained."""
FLATNESS_WINDOW = 500
LEAD_SECONDS = 0.2
"""Between setting up a phase and its first write, so every author starts on time."""
LATE_SECONDS = 2.0
"""An author still writing this long (plus half the phase) after its schedule ends gives up."""
END_WITHIN = 30.0
"""Seconds every stream may take to receive its last event once the writes are done."""
SETTLE_SECONDS = 0.5
JSON, NDJSON = "JSON", "NDJSON"


@dataclass(slots=True)
class Deployment:
    """Servers, a signed-up client and the conversations the phases of one deployment share."""

    label: str
    servers: list[ServerProcess]
    api: ApiClient
    database_url: str
    conversations: list[str]
    config: BenchConfig
    phases: int = 0

    def next_seed(self) -> int:
        """A new seed per phase, so each phase's replies say something new."""
        self.phases += 1
        return self.phases * 1000

    @property
    def headers(self) -> dict[str, str]:
        return bearer_headers(self.api.token)


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU used while the writes ran, in shares of one core: this load generator, each server process
    and, on PostgreSQL, the database backends serving them (the machine's PostgreSQL is local)."""

    wall: float
    client: float
    servers: tuple[float, ...]
    database: float | None

    def server_ms_per(self, writes: int) -> float:
        """Server CPU milliseconds per write: the cost that decides the rate a core can carry."""
        return ratio(sum(self.servers) * self.wall * 1e3, writes)

    def __str__(self) -> str:
        servers = " + ".join(f"{share:.2f}" for share in self.servers)
        database = "" if self.database is None else f" / PostgreSQL {self.database:.2f}"
        return f"client {self.client:.2f} / server {servers}{database}"


class _Meter:
    """CPU time of the client, the servers and the database backends from ``start`` to ``stop``."""

    def __init__(self, deployment: Deployment, backends: dict[int, float]) -> None:
        self._deployment = deployment
        self._backends = backends
        self._wall, self._cpu = time.monotonic(), time.process_time()
        self._server_cpu = [server.cpu_seconds() for server in deployment.servers]

    @classmethod
    async def start(cls, deployment: Deployment) -> _Meter:
        backends = await database_backends(deployment.database_url)
        return cls(deployment, {pid: process_cpu_seconds([pid]) for pid in backends})

    async def stop(self) -> Usage:
        wall = time.monotonic() - self._wall
        client = (time.process_time() - self._cpu) / wall
        servers = tuple(
            (server.cpu_seconds() - before) / wall
            for server, before in zip(self._deployment.servers, self._server_cpu, strict=True)
        )
        database = None
        if not self._deployment.database_url.startswith("sqlite"):
            # Backends opened during the phase count from 0; any closed meanwhile are missed.
            pids = await database_backends(self._deployment.database_url)
            used = sum(process_cpu_seconds([pid]) - self._backends.get(pid, 0.0) for pid in pids)
            database = used / wall
        return Usage(wall, client, servers, database)


@dataclass(frozen=True, slots=True)
class Writes:
    """What the authors of a phase sent, how long it took, and what it cost."""

    sent: Mapping[str, Sent]
    elapsed: float
    usage: Usage
    finish_errors: int = 0

    @property
    def count(self) -> int:
        return sum(len(sent.times) for sent in self.sent.values())

    @property
    def ok(self) -> int:
        return sum(sent.ok for sent in self.sent.values())


@dataclass(frozen=True, slots=True)
class StreamPhase:
    """Replies streaming at once: what the authors sent, what the streams received, what was stored."""

    mode: str
    rate: float
    replies: int
    planned: int
    writes: Writes
    delivery: Delivery
    rows: int
    stored_wrong: int
    refused: int
    dropped: int

    @property
    def offered(self) -> float:
        return self.rate * self.replies

    @property
    def achieved(self) -> float:
        """Deltas a second actually sent, all replies together (the offered rate when on schedule)."""
        return self.writes.count / (self.writes.elapsed + 1 / self.rate) if self.writes.count else 0.0

    @property
    def latency(self) -> Distribution:
        return Distribution.of(self.delivery.all_latencies)

    @property
    def answers(self) -> Distribution:
        return Distribution.of([a for sent in self.writes.sent.values() for a in sent.answers])

    @property
    def rows_per_delta(self) -> float:
        return ratio(self.rows, self.writes.ok)

    @property
    def not_ok(self) -> tuple[int, int]:
        """Deltas sent but not answered 200, and finishes refused."""
        return self.writes.count - self.writes.ok, self.writes.finish_errors

    @property
    def unsent(self) -> int:
        """Deltas never sent: their authors had fallen too far behind their schedule (see ``Pace``)."""
        return self.planned * self.replies - self.writes.count

    @property
    def correct(self) -> bool:
        d = self.delivery
        wrong = (d.wrong_from_deltas, d.wrong_final, self.stored_wrong)
        return d.counts == (0, 0, 0) and wrong == (0, 0, 0) and self.not_ok == (0, 0) and not self.streams

    @property
    def streams(self) -> int:
        return self.refused + self.dropped

    @property
    def sustained(self) -> bool:
        return self.unsent == 0 and self.achieved >= MIN_SUSTAINED * self.offered

    @property
    def passed(self) -> bool:
        return self.latency.p99 <= MAX_P99 and self.sustained and self.correct

    def verdict(self) -> str:
        """PASS, or FAIL with every reason."""
        reasons = [
            reason
            for reason, failed in (
                ("p99", not self.latency.p99 <= MAX_P99),
                ("rate not kept", not self.sustained),
                ("incorrect", not self.correct),
            )
            if failed
        ]
        return "PASS" if not reasons else f"FAIL ({', '.join(reasons)})"


@dataclass(frozen=True, slots=True)
class WholePhase:
    """The comparison: the same pieces posted as whole messages, timed to ``message.created``."""

    writes: Writes
    delivery: Delivery
    planned: int
    refused: int
    dropped: int

    @property
    def latency(self) -> Distribution:
        return Distribution.of(self.delivery.all_latencies)


@dataclass(frozen=True, slots=True)
class LongReply:
    """One long reply sent delta after delta: each delta's send → answer time, in order."""

    answers: list[float]
    planned: int
    errors: int
    stored_wrong: int
    elapsed: float
    usage: Usage

    @property
    def flatness(self) -> float:
        return flatness(self.answers, FLATNESS_WINDOW)

    def windows(self, size: int = 1000) -> str:
        """Median answer of each successive ``size`` deltas, in ms: a trend, or just noise."""
        return " ".join(
            f"{statistics.median(self.answers[i : i + size]) * 1e3:.1f}"
            for i in range(0, len(self.answers) - size + 1, size)
        )


@dataclass(slots=True)
class DeploymentResult:
    label: str
    processes: int
    json: StreamPhase
    ndjson: StreamPhase
    whole: WholePhase
    long: LongReply
    ladders: dict[str, list[StreamPhase]] = field(default_factory=dict)


async def run(config: BenchConfig) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    if "sqlite" in config.b7_deployment_names:
        with tempfile.TemporaryDirectory(prefix="threadline-bench-b7-") as tmp:
            sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            async with _deployment(config, "SQLite 1 proc", 1, sqlite_url, "memory") as deployment:
                _report(result, await _measure(deployment))
    if "postgres" in config.b7_deployment_names:
        async with (
            throwaway_database(config.postgres_dsn) as url,
            _deployment(config, "PG 2 proc redis", 2, url, "redis") as deployment,
        ):
            _report(result, await _measure(deployment))
    subscribers_each = config.b7_subscribers // config.b7_replies
    result.notes += [
        f"{config.b7_replies} replies x {config.b7_deltas} deltas of 4 characters at {config.b7_rate:g}/s "
        f"each; {config.b7_subscribers} streams, {subscribers_each} per conversation (split evenly over "
        "the processes); authors write to process 1",
        "latency: delta request (or NDJSON line) written -> first message.delta event covering its offset",
        f"ladder steps beyond the first run {config.b7_step_seconds:g} s each; a step passes with p99 <= "
        f"{MAX_P99 * 1e3:.0f} ms, >= {MIN_SUSTAINED:.0%} of the offered rate sent, and nothing wrong",
        "whole messages: the same pieces, each one POST …/messages, same cadence, connections and streams",
        "NDJSON uploads are raw chunked HTTP/1.1 requests (bench/http1.py), one socket per reply",
    ]
    return result


@contextlib.asynccontextmanager
async def _deployment(
    config: BenchConfig, label: str, processes: int, database_url: str, bus: str
) -> AsyncIterator[Deployment]:
    env = {"THREADLINE_DATABASE_URL": database_url, "THREADLINE_EVENT_BUS": bus}
    async with running_threadlines(config, processes, env=env) as servers, signed_up(servers[0]) as api:
        workspace = await api.create_workspace(f"bench b7 {label}")
        conversations = [
            await api.create_conversation(workspace, f"b7 {index}") for index in range(config.b7_replies)
        ]
        yield Deployment(label, servers, api, database_url, conversations, config)


async def _measure(deployment: Deployment) -> DeploymentResult:
    config = deployment.config
    print(f"   {deployment.label}: JSON, NDJSON, whole messages, long reply, ladders", flush=True)
    result = DeploymentResult(
        deployment.label,
        len(deployment.servers),
        json=await _stream_phase(deployment, JSON, config.b7_rate, config.b7_deltas),
        ndjson=await _stream_phase(deployment, NDJSON, config.b7_rate, config.b7_deltas),
        whole=await _whole_phase(deployment),
        long=await _long_reply(deployment),
    )
    for mode, first in ((JSON, result.json), (NDJSON, result.ndjson)):
        result.ladders[mode] = await _ladder(deployment, mode, first)
    return result


async def _ladder(deployment: Deployment, mode: str, first: StreamPhase) -> list[StreamPhase]:
    """Raise the per-reply rate step by step from ``first``, up to the first step that fails."""
    steps = [first]
    for rate in deployment.config.b7_ladder_rates:
        if not steps[-1].passed or rate <= first.rate:
            continue
        deltas = max(1, round(rate * deployment.config.b7_step_seconds))
        steps.append(await _stream_phase(deployment, mode, rate, deltas))
    return steps


async def _stream_phase(deployment: Deployment, mode: str, rate: float, deltas: int) -> StreamPhase:
    """Open the streams, start one reply per conversation, stream every reply's deltas at ``rate`` a
    second, finish them, wait for every stream's final event, and check what arrived."""
    recorder = Recorder()
    subscribers = await _subscribe(deployment, recorder)
    try:
        seed = deployment.next_seed()
        replies = {
            conversation_id: await _start_reply(
                deployment.api, conversation_id, reply_pieces(seed + i, deltas)
            )
            for i, conversation_id in enumerate(deployment.conversations)
        }
        rows_before = await count_delta_rows(deployment.database_url)
        writes = await _stream_replies(deployment, mode, replies, rate)
        await recorder.wait_for(
            dict.fromkeys(replies, 1), subscribers.subscribers, "message.updated", END_WITHIN
        )
        await asyncio.sleep(SETTLE_SECONDS)
        dropped = subscribers.dropped
    finally:
        await subscribers.close()
    rows = await count_delta_rows(deployment.database_url) - rows_before
    stored = {c: await _stored_content(deployment.api, reply) for c, reply in replies.items()}
    accepted = {c: _accepted(mode, writes.sent[c], reply, stored[c]) for c, reply in replies.items()}
    delivery = check_deltas(
        replies, writes.sent, accepted, stored, subscribers.subscribers, recorder, len(deployment.servers)
    )
    stored_wrong = sum(stored[c] != reply.text(accepted[c]) for c, reply in replies.items())
    return StreamPhase(
        mode, rate, len(replies), deltas, writes, delivery, rows, stored_wrong,
        len(subscribers.failures), dropped,
    )  # fmt: skip


async def _subscribe(deployment: Deployment, recorder: Recorder) -> Subscribers:
    config = deployment.config
    return await open_subscribers(
        deployment.servers,
        deployment.api.token,
        deployment.conversations,
        config.b7_subscribers,
        recorder,
        config.connect_concurrency,
    )


async def _start_reply(api: ApiClient, conversation_id: str, pieces: Sequence[str]) -> Reply:
    body = {"role": "assistant", "status": "streaming", "content": ""}
    message = await api.call("POST", messages_path(conversation_id), body, expect=201)
    return Reply.of(conversation_id, message["id"], pieces)


async def _stored_content(api: ApiClient, reply: Reply) -> str:
    content: str = (await api.call("GET", reply.path))["content"]
    return content


def _accepted(mode: str, sent: Sent, reply: Reply, stored: str) -> int:
    """How many of the reply's pieces the server accepted: each answered JSON request, or, for an
    upload that was refused part-way, the lines that fit in the stored length (those before stand)."""
    if mode == JSON or sent.ok == len(sent.times):
        return sent.ok
    return sum(
        1
        for start, piece in zip(reply.starts, reply.pieces, strict=True)
        if start + len(piece) <= len(stored)
    )


async def _stream_replies(
    deployment: Deployment, mode: str, replies: Mapping[str, Reply], rate: float
) -> Writes:
    """Every reply's deltas at ``rate`` a second, staggered over one interval, each reply finished by its
    author right after its last delta; all authors write to the first server."""
    first = deployment.servers[0]
    connections = [Connection(first.host, first.port) for _ in replies]
    await asyncio.gather(*(conn.connect() for conn in connections))
    deltas = max(len(reply.pieces) for reply in replies.values())
    start = time.monotonic() + LEAD_SECONDS
    deadline = start + 1.5 * deltas / rate + LATE_SECONDS
    meter = await _Meter.start(deployment)
    try:
        outcomes = await asyncio.gather(
            *(
                _author(deployment, mode, conn, reply, Pace(start, rate, index / len(replies), deadline))
                for index, (conn, reply) in enumerate(zip(connections, replies.values(), strict=True))
            )
        )
    finally:
        for conn in connections:
            conn.close()
    usage = await meter.stop()
    sent = {conversation_id: outcome[0] for conversation_id, outcome in zip(replies, outcomes, strict=True)}
    last = max((s.times[-1] for s in sent.values() if s.times), default=start)
    return Writes(sent, last - start, usage, sum(1 for _, finished in outcomes if not finished))


async def _author(
    deployment: Deployment, mode: str, conn: Connection, reply: Reply, pace: Pace
) -> tuple[Sent, bool]:
    """One assistant: its deltas, then its finish; whether the finish was answered 200."""
    headers = deployment.headers
    if mode == JSON:
        sent = await send_json_deltas(conn, headers, reply, pace)
    else:
        sent = await upload_ndjson_deltas(deployment.servers[0], headers, reply, pace)
    finish = await conn.request("POST", f"{reply.path}/finish", headers, b'{"status": "complete"}')
    return sent, finish.status == 200


async def _whole_phase(deployment: Deployment) -> WholePhase:
    """The base phase's pieces posted as messages instead, and timed to their ``message.created``."""
    config = deployment.config
    recorder = Recorder()
    subscribers = await _subscribe(deployment, recorder)
    try:
        seed = deployment.next_seed()
        pieces = {c: reply_pieces(seed + i, config.b7_deltas) for i, c in enumerate(deployment.conversations)}
        writes = await _post_messages(deployment, pieces)
        posted = {
            c: [
                (json.loads(body)["id"], piece, at)
                for piece, at, status, body in zip(
                    pieces[c], sent.times, sent.statuses, sent.bodies, strict=False
                )
                if status == 201
            ]
            for c, sent in writes.sent.items()
        }
        wanted = {c: len(items) for c, items in posted.items()}
        await recorder.wait_for(wanted, subscribers.subscribers, "message.created", END_WITHIN)
        await asyncio.sleep(SETTLE_SECONDS)
        dropped = subscribers.dropped
    finally:
        await subscribers.close()
    delivery = check_messages(posted, subscribers.subscribers, recorder, len(deployment.servers))
    return WholePhase(writes, delivery, config.b7_deltas * len(pieces), len(subscribers.failures), dropped)


async def _post_messages(deployment: Deployment, pieces: Mapping[str, Sequence[str]]) -> Writes:
    first, rate = deployment.servers[0], deployment.config.b7_rate
    connections = [Connection(first.host, first.port) for _ in pieces]
    await asyncio.gather(*(conn.connect() for conn in connections))
    start = time.monotonic() + LEAD_SECONDS
    deadline = start + 1.5 * deployment.config.b7_deltas / rate + LATE_SECONDS
    meter = await _Meter.start(deployment)
    try:
        sent = await asyncio.gather(
            *(
                post_paced(
                    conn,
                    deployment.headers,
                    [
                        (messages_path(c), json.dumps({"role": "assistant", "content": piece}).encode())
                        for piece in pieces[c]
                    ],
                    Pace(start, rate, index / len(pieces), deadline),
                )
                for index, (conn, c) in enumerate(zip(connections, pieces, strict=True))
            )
        )
    finally:
        for conn in connections:
            conn.close()
    usage = await meter.stop()
    last = max((s.times[-1] for s in sent if s.times), default=start)
    return Writes(dict(zip(pieces, sent, strict=True)), last - start, usage)


async def _long_reply(deployment: Deployment) -> LongReply:
    """One reply of ``b7_long_deltas`` deltas, each sent as soon as the previous one is answered."""
    config = deployment.config
    reply = await _start_reply(
        deployment.api,
        deployment.conversations[0],
        reply_pieces(deployment.next_seed(), config.b7_long_deltas),
    )
    first = deployment.servers[0]
    conn = Connection(first.host, first.port)
    await conn.connect()
    meter = await _Meter.start(deployment)
    started = time.monotonic()
    try:
        sent = await send_json_deltas(
            conn, deployment.headers, reply, Pace(started, math.inf, 0.0, started + config.time_limit)
        )
        elapsed = time.monotonic() - started
        usage = await meter.stop()
        finish = await conn.request(
            "POST", f"{reply.path}/finish", deployment.headers, b'{"status": "complete"}'
        )
    finally:
        conn.close()
    stored = await _stored_content(deployment.api, reply)
    errors = config.b7_long_deltas - sent.ok + (finish.status != 200)
    stored_wrong = int(stored != reply.text(sent.ok))
    return LongReply(sent.answers, config.b7_long_deltas, errors, stored_wrong, elapsed, usage)


def _report(result: BenchResult, measured: DeploymentResult) -> None:
    label = measured.label
    for phase in (measured.json, measured.ndjson):
        _report_stream_phase(result, f"{label}: {phase.mode}", phase)
    _report_whole(result, label, measured)
    for mode, steps in measured.ladders.items():
        _report_ladder(result, f"{label}: {mode}", steps)
    _report_long(result, label, measured.long)


def _report_stream_phase(result: BenchResult, label: str, phase: StreamPhase) -> None:
    latency, answers = phase.latency, phase.answers
    result.add(f"{label} delta -> subscriber p50", latency.p50 * 1e3, "ms")
    result.add(f"{label} delta -> subscriber p99", latency.p99 * 1e3, "ms")
    result.add(f"{label} delta -> subscriber max", latency.max * 1e3, "ms")
    if len(phase.delivery.latencies) > 1:
        by_process = " / ".join(
            f"{Distribution.of(group).p50 * 1e3:.1f}, {Distribution.of(group).p99 * 1e3:.1f}"
            for group in phase.delivery.latencies
        )
        result.add(f"{label} p50, p99 by process", by_process, "ms (process 1 takes the writes)")
    if answers.count:
        result.add(
            f"{label} delta answer p50 / p99", f"{answers.p50 * 1e3:.1f} / {answers.p99 * 1e3:.1f}", "ms"
        )
    result.add(f"{label} deltas sent", phase.achieved, f"deltas/s (offered {phase.offered:,.0f})")
    result.add(f"{label} event-log rows per delta", phase.rows_per_delta, f"({phase.rows:,} rows)")
    usage = phase.writes.usage
    result.add(f"{label} CPU", str(usage), "of a core")
    result.add(f"{label} server CPU per delta", usage.server_ms_per(phase.writes.ok), "ms")
    d = phase.delivery
    result.targets += [
        at_most(f"{label} delta -> subscriber p99 (ms)", latency.p99 * 1e3, MAX_P99 * 1e3),
        at_least(f"{label} deltas sent (deltas/s)", phase.achieved, MIN_SUSTAINED * phase.offered),
        _all_zero(f"{label} events lost / duplicated / out of order", d.counts),
        _all_zero(
            f"{label} texts wrong: rebuilt from deltas / after the final event / stored",
            (d.wrong_from_deltas, d.wrong_final, phase.stored_wrong),
        ),
        _all_zero(f"{label} deltas not answered 200 / finishes refused", phase.not_ok),
        _all_zero(f"{label} streams refused / dropped", (phase.refused, phase.dropped)),
    ]


def _report_whole(result: BenchResult, label: str, measured: DeploymentResult) -> None:
    whole = measured.whole
    latency = whole.latency
    name = f"{label}: whole messages"
    result.add(f"{name} post -> message.created p50", latency.p50 * 1e3, "ms")
    result.add(f"{name} post -> message.created p99", latency.p99 * 1e3, "ms")
    result.add(f"{name} post -> message.created max", latency.max * 1e3, "ms")
    result.add(f"{name} posted", whole.writes.count / max(whole.writes.elapsed, 1e-9), "messages/s")
    result.add(f"{name} CPU", str(whole.writes.usage), "of a core")
    result.add(f"{name} server CPU per message", whole.writes.usage.server_ms_per(whole.writes.ok), "ms")
    for phase in (measured.json, measured.ndjson):
        result.add(
            f"{label}: {phase.mode} delta p50, p99 / whole-message p50, p99",
            f"{ratio(phase.latency.p50, latency.p50):.2f}, {ratio(phase.latency.p99, latency.p99):.2f}",
        )
    d = whole.delivery
    result.targets += [
        _all_zero(f"{name} events lost / duplicated / out of order", d.counts),
        _all_zero(
            f"{name} posts not answered 201 / contents wrong",
            (whole.planned - whole.writes.ok, d.wrong_final),
        ),
        _all_zero(f"{name} streams refused / dropped", (whole.refused, whole.dropped)),
    ]


def _report_ladder(result: BenchResult, label: str, steps: Sequence[StreamPhase]) -> None:
    for step in steps:
        lost, duplicated, out_of_order = step.delivery.counts
        result.add(
            f"{label} ladder {step.rate:g}/s per reply ({step.offered:,.0f}/s)",
            f"p99 {step.latency.p99 * 1e3:.1f} ms, sent {step.achieved:,.0f}/s, "
            f"rows/delta {step.rows_per_delta:.2f}, {step.writes.usage}, "
            f"server {step.writes.usage.server_ms_per(step.writes.ok):.2f} ms/delta, "
            f"not 200 {step.not_ok[0]}, "
            f"lost {lost}, dup {duplicated}, ooo {out_of_order}, {step.verdict()}",
        )
    passed = [step for step in steps if step.passed]
    best = passed[-1] if passed else None
    result.add(
        f"{label} highest sustained rate with p99 <= {MAX_P99 * 1e3:.0f} ms",
        best.offered if best else 0.0,
        f"deltas/s ({best.rate:g} per reply)" if best else "deltas/s (no step passed)",
    )
    if best is steps[-1] and steps:
        result.notes.append(f"{label}: every ladder step passed; the highest rate is a lower bound")


def _report_long(result: BenchResult, label: str, long: LongReply) -> None:
    name = f"{label}: long reply ({long.planned:,} deltas, {long.planned * 4:,} chars)"
    window = FLATNESS_WINDOW
    first, last = long.answers[:window], long.answers[-window:]
    result.add(
        f"{name} answer p50, first {window} / last {window}",
        f"{statistics.median(first) * 1e3:.2f} / {statistics.median(last) * 1e3:.2f}" if first else "n/a",
        "ms",
    )
    result.add(f"{name} answer medians per 1,000", long.windows(), "ms")
    result.add(f"{name} time", long.elapsed, "s")
    result.add(f"{name} CPU", str(long.usage), "of a core")
    result.add(f"{name} server CPU per delta", long.usage.server_ms_per(len(long.answers)), "ms")
    result.targets += [
        at_most(f"{name} flatness, last {window} / first {window}", long.flatness, MAX_FLATNESS),
        _all_zero(
            f"{name} deltas or finish not answered 200 / stored text wrong", (long.errors, long.stored_wrong)
        ),
    ]


def _all_zero(label: str, counts: Sequence[int]) -> Target:
    return Target(
        label,
        all(count == 0 for count in counts),
        f"{' / '.join(f'{count:,}' for count in counts)} == {' / '.join('0' for _ in counts)}",
    )
