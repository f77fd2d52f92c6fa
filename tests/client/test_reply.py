"""``reply()`` against real servers: the text written is the text stored (and the text a watcher shows),
after lost answers and a server killed mid-reply too; a cancelled reply raises ``Cancelled``; an
exception marks it ``failed`` with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.client.conftest import QUICK_RETRY_MS, Place, make_place, sign_up, sqlite_url
from tests.client.support import WAIT_SECONDS, Trouble, TroubledTransport, posts_to
from tests.support.server import ServerProcess
from tests.support.waiting import eventually
from threadline_client import AsyncEventStream, AsyncThreadline, Cancelled, Event, Message, Reply

pytestmark = pytest.mark.e2e

# Characters outside the Basic Multilingual Plane: offsets count code points, not UTF-16 units or bytes.
LONG_TEXT = "".join(f"word{number} 🙂 " for number in range(3000))
"""Several deltas' worth, so a reply sends it in several whatever the timing."""


def _subject(event: Event) -> object:
    """The id of the message an event is about."""
    return event.data.get("message_id", event.data.get("id"))


async def shown_by_watcher(events: AsyncEventStream, message_id: object) -> tuple[str, Message]:
    """Follow a reply as a client shows it (docs/streaming.md, the rule) until it ends; answers the text
    the deltas built, and the message as it ended."""
    shown = ""
    async with asyncio.timeout(WAIT_SECONDS):
        async for item in events:
            if not isinstance(item, Event) or _subject(item) != str(message_id):
                continue
            if item.type == "message.delta":
                delta = item.delta()
                assert delta.offset <= len(shown), "a delta past the shown text: one was missed"
                shown = shown[: delta.offset] + delta.text
            elif item.type == "message.updated" and item.message().status != "streaming":
                return shown, item.message()
    raise AssertionError("the stream ended before the reply did")


async def stored(client: AsyncThreadline, message: Message) -> Message:
    return await client.get_message(message.conversation_id, message.id)


async def is_stored(client: AsyncThreadline, reply: Reply) -> bool:
    """Everything written to ``reply`` so far is stored."""
    return (await stored(client, reply.message)).content == reply.text


async def test_a_reply_stores_what_was_written_joining_fast_writes_into_few_deltas(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    tokens = [f"token{number} " for number in range(300)]
    deltas = TroubledTransport(Trouble(posts_to("/deltas")))
    async with (
        AsyncThreadline(server.url, token=alice.token, transport=deltas) as assistant,
        alice.events(conversation_id=place.conversation.id) as events,
    ):
        async with assistant.conversation(place.conversation.id).reply(metadata={"model": "m"}) as reply:
            for token in tokens:
                await reply.write(token)
        from_deltas, ended = await shown_by_watcher(events, reply.message.id)

    final = await stored(alice, reply.message)
    assert (final.content, final.status, final.role) == ("".join(tokens), "complete", "assistant")
    assert final.metadata == {"model": "m"}
    assert reply.message == final == ended
    assert from_deltas == final.content
    assert 1 <= len(deltas.sent) < len(tokens)


async def test_a_reply_reads_back_exactly_after_answers_and_requests_are_lost(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    # The second delta is applied but its answer lost; its retry never arrives; the retry after that does.
    trouble = TroubledTransport(Trouble(posts_to("/deltas"), lose_answer={2, 5}, never_arrive={3}))
    async with (
        AsyncThreadline(server.url, token=alice.token, transport=trouble) as assistant,
        assistant.reply(place.conversation.id) as reply,
    ):
        for start in range(0, len(LONG_TEXT), 5000):
            await reply.write(LONG_TEXT[start : start + 5000])

    assert (await stored(alice, reply.message)).content == LONG_TEXT
    assert len(trouble.sent) > len(LONG_TEXT) // 8192 + 1


async def test_a_reply_resumes_after_its_server_is_killed_and_restarted(tmp_path: Path) -> None:
    server = ServerProcess(sqlite_url(tmp_path), tmp_path, sse_retry_ms=QUICK_RETRY_MS)
    await server.start()
    try:
        async with await sign_up(server.url) as alice:
            place = await make_place(alice)
            async with alice.reply(place.conversation.id) as reply:
                await reply.write("Before the crash. ")
                await eventually(lambda: is_stored(alice, reply))
                await server.kill()
                await reply.write("While the server is down. ")
                await server.start()
                await reply.write("After it is back.")
            final = await stored(alice, reply.message)
    finally:
        await server.stop()

    assert (final.content, final.status) == (
        "Before the crash. While the server is down. After it is back.",
        "complete",
    )


async def test_a_cancelled_reply_raises_cancelled_and_writes_no_more(
    alice: AsyncThreadline, place: Place
) -> None:
    reply = alice.reply(place.conversation.id)

    async def write_while_someone_cancels() -> None:
        async with reply:
            await reply.write("Hello")
            await eventually(lambda: is_stored(alice, reply))
            await alice.cancel_reply(place.conversation.id, reply.message.id)
            await reply.write(", world")

    with pytest.raises(Cancelled):
        await write_while_someone_cancels()

    final = await stored(alice, reply.message)
    assert (final.content, final.status) == ("Hello", "cancelled")


async def test_an_exception_marks_the_reply_failed_with_its_reason(
    alice: AsyncThreadline, place: Place
) -> None:
    reply = alice.reply(place.conversation.id, metadata={"model": "m"})

    async def write_then_fail() -> None:
        async with reply:
            await reply.write("Half a th")
            raise RuntimeError("the model went away")

    with pytest.raises(RuntimeError, match="the model went away"):
        await write_then_fail()

    final = await stored(alice, reply.message)
    assert (final.content, final.status) == ("Half a th", "failed")
    assert final.metadata == {"model": "m", "error": "RuntimeError: the model went away"}
