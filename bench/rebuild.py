"""What B7's subscribers' events prove, checked after each phase: every delta's latency, and the text a
client rebuilds by the rule of docs/streaming.md compared with the stored message.

A delta's latency runs from just before its request (or NDJSON line) was written to the arrival of the
first ``message.delta`` event that covers its offset; an event the server coalesced from several deltas
stops the clock of each of them. Each stream is checked on its own: its ``message.*`` events must carry
strictly increasing ids, cover every accepted delta exactly once, and rebuild the stored text both from
the deltas alone and after the final ``message.updated`` (which carries the whole text, so it alone
would hide a lost delta).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.sse_client import SseEvent
from bench.streaming import MESSAGE_EVENTS, Recorder, Reply, Sent, Subscriber


class Shown:
    """A client's text of one message, kept by the rule: ``shown = shown[:offset] + text``.

    Pieces that continue where the text ends are only appended, so a long reply costs linear time.
    """

    def __init__(self, text: str) -> None:
        self._parts = [text]
        self.length = len(text)

    def apply(self, offset: int, text: str) -> bool:
        """Apply one delta; False (and nothing changes) if it starts beyond the text: a gap."""
        if offset > self.length:
            return False
        if offset < self.length:
            self._parts = [self.text[:offset]]
        self._parts.append(text)
        self.length = offset + len(text)
        return True

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0]


@dataclass(slots=True)
class Delivery:
    """What the streams received of a phase, against what the authors' writes were answered with.

    ``latencies`` holds one value per stream and accepted write, grouped by the server process the
    stream listened on. ``lost`` counts accepted writes (and final ``message.updated`` events) a stream
    never received; ``duplicated`` events repeated or writes covered twice; ``out_of_order`` events whose
    id did not exceed the stream's previous one; ``wrong`` texts that differ from the stored message.
    """

    latencies: list[list[float]]
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    wrong_from_deltas: int = 0
    wrong_final: int = 0
    event_ids: set[int] = field(default_factory=set)

    @property
    def all_latencies(self) -> list[float]:
        return [latency for group in self.latencies for latency in group]

    @property
    def counts(self) -> tuple[int, int, int]:
        return self.lost, self.duplicated, self.out_of_order


class _Ids:
    """A stream's ``message.*`` event ids: repeats and ids that do not increase are counted."""

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery
        self._seen: set[int] = set()
        self._last = 0

    def fresh(self, event: SseEvent) -> bool:
        """Whether the event is new to this stream (a repeat counts as duplicated and is skipped)."""
        event_id = int(event.id) if event.id is not None and event.id.isdigit() else None
        if event_id is not None and event_id in self._seen:
            self._delivery.duplicated += 1
            return False
        if event_id is None or event_id <= self._last:
            self._delivery.out_of_order += 1
        if event_id is not None:
            self._seen.add(event_id)
            self._delivery.event_ids.add(event_id)
            self._last = max(self._last, event_id)
        return True


def _message_events(events: Sequence[SseEvent], ids: _Ids) -> list[tuple[SseEvent, dict[str, Any]]]:
    """The stream's new ``message.*`` events, each with its parsed ``data``."""
    return [
        (event, json.loads(event.data)["data"])
        for event in events
        if event.event in MESSAGE_EVENTS and ids.fresh(event)
    ]


def check_deltas(
    replies: Mapping[str, Reply],
    sent: Mapping[str, Sent],
    accepted: Mapping[str, int],
    stored: Mapping[str, str],
    subscribers: Sequence[Subscriber],
    recorder: Recorder,
    processes: int,
) -> Delivery:
    """Check every stream against its conversation's reply (all four keyed by conversation id):
    ``accepted`` pieces of it were stored, ``stored`` is its content read back over REST."""
    delivery = Delivery([[] for _ in range(processes)])
    for subscriber in subscribers:
        conversation_id = subscriber.conversation_id
        _check_reply_stream(
            recorder.events[id(subscriber.stream)],
            replies[conversation_id],
            sent[conversation_id].times,
            accepted[conversation_id],
            stored[conversation_id],
            delivery,
            delivery.latencies[subscriber.process],
        )
    return delivery


def _check_reply_stream(
    events: Sequence[SseEvent],
    reply: Reply,
    sent_times: Sequence[float],
    accepted: int,
    stored: str,
    delivery: Delivery,
    latencies: list[float],
) -> None:
    shown: Shown | None = None
    rebuilt: str | None = None
    final: str | None = None
    covered = [0] * accepted
    for event, data in _message_events(events, _Ids(delivery)):
        if event.event == "message.delta" and data["message_id"] == reply.message_id:
            if shown is None:  # message.created never came: count it lost, start from the reply's ""
                delivery.lost += 1
                shown = Shown("")
            if not shown.apply(data["offset"], data["text"]):
                delivery.wrong_from_deltas += 1
            for index in reply.covered(data["offset"], len(data["text"])):
                if index >= accepted:
                    delivery.wrong_from_deltas += 1
                    continue
                covered[index] += 1
                if covered[index] == 1:
                    latencies.append(event.arrival - sent_times[index])
                else:
                    delivery.duplicated += 1
        elif data.get("id") == reply.message_id:
            if event.event == "message.created":
                shown = Shown(data["content"])
            elif event.event == "message.updated" and data["status"] != "streaming":
                rebuilt, final = (shown.text if shown else ""), data["content"]
    delivery.lost += covered.count(0) + (final is None)
    delivery.wrong_from_deltas += (rebuilt if rebuilt is not None else shown.text if shown else "") != stored
    delivery.wrong_final += final != stored


def check_messages(
    posted: Mapping[str, Sequence[tuple[str, str, float]]],
    subscribers: Sequence[Subscriber],
    recorder: Recorder,
    processes: int,
) -> Delivery:
    """Check whole messages: ``posted[conversation]`` lists ``(message id, content, send time)`` of
    each post answered 201; each stream must receive each one's ``message.created`` once, intact."""
    delivery = Delivery([[] for _ in range(processes)])
    for subscriber in subscribers:
        expected = {
            message_id: (content, at) for message_id, content, at in posted[subscriber.conversation_id]
        }
        received: set[str] = set()
        events = recorder.events[id(subscriber.stream)]
        for event, data in _message_events(events, _Ids(delivery)):
            if event.event != "message.created" or data["id"] not in expected:
                continue
            if data["id"] in received:
                delivery.duplicated += 1
                continue
            received.add(data["id"])
            content, at = expected[data["id"]]
            delivery.wrong_final += data["content"] != content
            delivery.latencies[subscriber.process].append(event.arrival - at)
        delivery.lost += len(expected) - len(received)
    return delivery
