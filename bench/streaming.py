"""Streaming replies driven over HTTP for B7: what each reply says, its author's paced sender (one JSON
request per delta, or one NDJSON upload), and the subscribers' events, kept for the analysis.

Authors send on a fixed schedule (open loop, ``rate`` deltas a second) rather than as fast as answers
come back, because a model produces tokens at its own pace; one whose answers are slower than the
schedule falls behind, which is what the achieved rate shows. Subscribers only store raw events while
the replies stream: parsing and checking wait until the phase is over, so the load generator's own work
stays small while the clock runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

import asyncpg

from bench.http1 import (
    LAST_CHUNK,
    TRANSPORT_ERRORS,
    Connection,
    encode_chunk,
    encode_chunked_head,
    read_body,
    read_head,
)
from bench.loadgen import TRANSPORT_ERROR
from bench.procs import ServerProcess
from bench.sse_client import SseEvent, SseStream, open_streams

NDJSON = "application/x-ndjson"
MESSAGE_EVENTS = frozenset({"message.created", "message.delta", "message.updated"})

# Prose with a few characters beyond ASCII (and one beyond the BMP), so that offsets are tested as the
# code-point counts the contract defines, not as bytes or UTF-16 units.
_WORDS = (
    "the", "reply", "grows", "token", "by", "token", "while", "people", "watch", "it", "café", "naïve",
    "—", "über", "a", "stream", "of", "small", "pieces", "🙂", "and", "then", "ends", "well", "déjà",
)  # fmt: skip


def reply_pieces(seed: int, count: int, size: int = 4) -> list[str]:
    """``count`` pieces of ``size`` characters each of deterministic prose: what one reply will send."""
    rng = random.Random(seed)
    words: list[str] = []
    length = 0
    while length < count * size:
        words.append(rng.choice(_WORDS))
        length += len(words[-1]) + 1
    text = " ".join(words)
    return [text[i * size : (i + 1) * size] for i in range(count)]


@dataclass(frozen=True, slots=True)
class Reply:
    """One streaming reply and the pieces its author will send; ``starts[i]`` is piece i's offset."""

    conversation_id: str
    message_id: str
    pieces: tuple[str, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, conversation_id: str, message_id: str, pieces: Sequence[str]) -> Reply:
        starts = tuple(accumulate((len(piece) for piece in pieces[:-1]), initial=0))
        return cls(conversation_id, message_id, tuple(pieces), starts)

    @property
    def path(self) -> str:
        return f"/v1/conversations/{self.conversation_id}/messages/{self.message_id}"

    def text(self, pieces: int | None = None) -> str:
        """The reply's text after its first ``pieces`` pieces (all of them by default)."""
        return "".join(self.pieces[:pieces])

    def covered(self, offset: int, length: int) -> range:
        """Indices of the pieces that start inside ``[offset, offset + length)``: the deltas one
        ``message.delta`` event carries (several when the server coalesced them)."""
        return range(bisect_left(self.starts, offset), bisect_left(self.starts, offset + length))

    def delta_body(self, index: int) -> bytes:
        return json.dumps({"offset": self.starts[index], "text": self.pieces[index]}).encode()


@dataclass(frozen=True, slots=True)
class Pace:
    """When an author sends its ``index``-th request: ``rate`` a second from ``start``, shifted by
    ``phase`` of an interval so that the replies do not all write at the same instant. Nothing is sent
    after ``deadline``: an author that has fallen that far behind stops, and the step fails."""

    start: float
    rate: float
    phase: float
    deadline: float

    def due(self, index: int) -> float:
        return self.start + (index + self.phase) / self.rate

    async def wait(self, index: int) -> bool:
        """Sleep until request ``index`` is due (not at all when late); False once past the deadline."""
        delay = self.due(index) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return time.monotonic() <= self.deadline


@dataclass(slots=True)
class Sent:
    """What one author sent, in order: when each request (or NDJSON line) left, and how it was answered.

    For an NDJSON upload every line gets the upload's one status, and ``answers`` stays empty.
    """

    times: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def ok(self) -> int:
        """Requests (or lines) answered 200 or 201."""
        return sum(1 for status in self.statuses if status in (200, 201))


async def post_paced(
    conn: Connection, headers: Mapping[str, str], requests: Iterable[tuple[str, bytes]], pace: Pace
) -> Sent:
    """POST each ``(path, body)`` when due, one at a time on ``conn``; stop at the first refusal.

    The clock of each request starts just before it is written; the answer's time and body are kept.
    """
    sent = Sent()
    for index, (path, body) in enumerate(requests):
        if not await pace.wait(index):
            break
        started = time.monotonic()
        try:
            response = await conn.request("POST", path, headers, body)
            status, answer = response.status, response.body
        except TRANSPORT_ERRORS:
            status, answer = TRANSPORT_ERROR, b""
        sent.answers.append(time.monotonic() - started)
        sent.times.append(started)
        sent.statuses.append(status)
        sent.bodies.append(answer)
        if status not in (200, 201):
            break
    return sent


async def send_json_deltas(conn: Connection, headers: Mapping[str, str], reply: Reply, pace: Pace) -> Sent:
    """The reply's deltas, one ``POST …/deltas`` each, when due."""
    path = f"{reply.path}/deltas"
    return await post_paced(
        conn, headers, ((path, reply.delta_body(index)) for index in range(len(reply.pieces))), pace
    )


async def upload_ndjson_deltas(
    server: ServerProcess, headers: Mapping[str, str], reply: Reply, pace: Pace
) -> Sent:
    """The reply's deltas as one chunked ``application/x-ndjson`` upload, a line written when due.

    Each line's clock starts when it is written; the upload is answered once, after its last line.
    """
    sent = Sent()
    status, answer = TRANSPORT_ERROR, b""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        authority = f"{server.host}:{server.port}"
        writer.write(
            encode_chunked_head(
                "POST", f"{reply.path}/deltas", authority, {**headers, "Content-Type": NDJSON}
            )
        )
        for index in range(len(reply.pieces)):
            if not await pace.wait(index):
                break
            line = reply.delta_body(index) + b"\n"
            sent.times.append(time.monotonic())
            writer.write(encode_chunk(line))
            await writer.drain()
        writer.write(LAST_CHUNK)
        await writer.drain()
        head = await read_head(reader)
        status, answer = head.status, await read_body(reader, head)
    except TRANSPORT_ERRORS:
        pass
    finally:
        writer.close()
    sent.statuses = [status] * len(sent.times)
    sent.bodies = [answer]
    return sent


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One stream of a conversation's events, opened on server process ``process`` (0 takes the writes)."""

    stream: SseStream
    conversation_id: str
    process: int


class Recorder:
    """Every event each stream receives, kept raw, and counted by type so a phase knows when it is over."""

    def __init__(self) -> None:
        self.events: defaultdict[int, list[SseEvent]] = defaultdict(list)
        self._counts: Counter[tuple[int, str]] = Counter()

    def on_event(self, stream: SseStream, event: SseEvent) -> None:
        self.events[id(stream)].append(event)
        self._counts[(id(stream), event.event)] += 1

    def received(self, stream: SseStream, kind: str) -> int:
        return self._counts[(id(stream), kind)]

    async def wait_for(
        self, wanted: Mapping[str, int], subscribers: Sequence[Subscriber], kind: str, within: float
    ) -> bool:
        """Wait until each subscriber has ``wanted[its conversation]`` events of ``kind``; False after
        ``within`` seconds. Polling is fine here: arrival times were stamped by the parser."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(self.received(s.stream, kind) >= wanted[s.conversation_id] for s in subscribers):
                return True
            await asyncio.sleep(0.02)
        return False


@dataclass(slots=True)
class Subscribers:
    """The streams a phase opened, and why any did not open."""

    subscribers: list[Subscriber]
    failures: list[str]

    @property
    def dropped(self) -> int:
        """Streams the server ended while the phase ran (a slow reader's queue overflowed, say)."""
        return sum(1 for s in self.subscribers if s.stream.end_reason is not None)

    async def close(self) -> None:
        await asyncio.gather(*(s.stream.close() for s in self.subscribers))


async def open_subscribers(
    servers: Sequence[ServerProcess],
    token: str,
    conversations: Sequence[str],
    total: int,
    recorder: Recorder,
    concurrency: int,
) -> Subscribers:
    """``total`` streams dealt evenly over the conversations, each conversation's split over the servers."""
    opened = Subscribers([], [])
    headers = {"Authorization": f"Bearer {token}"}
    for index, conversation_id in enumerate(conversations):
        per_conversation = total // len(conversations) + (index < total % len(conversations))
        for process, server in enumerate(servers):
            count = per_conversation // len(servers) + (process < per_conversation % len(servers))
            streams = await open_streams(
                server.host,
                server.port,
                f"/v1/conversations/{conversation_id}/events",
                count,
                concurrency=concurrency,
                headers=headers,
                on_event=recorder.on_event,
            )
            opened.subscribers += [Subscriber(stream, conversation_id, process) for stream in streams.streams]
            opened.failures += streams.failures
    return opened


async def database_backends(database_url: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving ``database_url``'s database (none for SQLite), so
    that the database's own CPU time can be read beside the servers': the machine's PostgreSQL is local."""
    if database_url.startswith("sqlite"):
        return []
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            dsn.rsplit("/", 1)[1],
        )
        return [row["pid"] for row in rows]
    finally:
        await connection.close()


async def count_delta_rows(database_url: str) -> int:
    """``message.delta`` rows in the server's event log, read straight from its database."""
    if database_url.startswith("sqlite"):
        return await asyncio.to_thread(_sqlite_delta_rows, database_url.split(":///", 1)[1])
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        rows: int = await connection.fetchval("SELECT count(*) FROM events WHERE type = 'message.delta'")
        return rows
    finally:
        await connection.close()


def _sqlite_delta_rows(path: str) -> int:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
        rows: int = connection.execute("SELECT count(*) FROM events WHERE type = 'message.delta'").fetchone()[
            0
        ]
        return rows
