"""The assistant bridge against a real server and a fake OpenAI-compatible model: a user message gets a
reply streamed from the model's chunks; cancelling the reply ends the model request; a model error fails
the reply with the reason; the bridge answers only other people's user messages; and
``threadline assistant --echo`` works as a command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest

from tests.client.conftest import Place, sign_up
from tests.client.support import WAIT_SECONDS, FakeModel
from tests.support.server import ServerProcess
from threadline_client import AsyncEventStream, AsyncThreadline, Event, Message
from threadline_client.assistant import Assistant, OpenAIModel

pytestmark = pytest.mark.e2e

THREADLINE = Path(sys.executable).with_name("threadline")


async def assistant_key(server: ServerProcess, owner: AsyncThreadline, place: Place) -> str:
    """An API key of a new account that is an editor of ``place``'s workspace: the assistant's."""
    async with await sign_up(server.url, "Assistant") as bot:
        await owner.add_member(place.workspace.id, email=(await bot.get_me()).email, role="editor")
        return (await bot.create_api_key(name="assistant")).key


@contextlib.asynccontextmanager
async def running_bridge(
    server: ServerProcess, owner: AsyncThreadline, place: Place, model: FakeModel
) -> AsyncIterator[Assistant]:
    """The bridge, in this process, answering in ``place`` with ``model``, once it listens."""
    key = await assistant_key(server, owner, place)
    async with model.serving() as model_url, AsyncThreadline(server.url, token=key) as client:
        chat = OpenAIModel(base_url=model_url, model="fake-1", api_key="sk-test")
        assistant = Assistant(client, chat)
        running = asyncio.create_task(assistant.run())
        try:
            listening = asyncio.create_task(assistant.listening.wait())
            await asyncio.wait(
                {running, listening}, timeout=WAIT_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            assert assistant.listening.is_set(), running
            yield assistant
        finally:
            running.cancel()
            await asyncio.wait({running})
            await chat.aclose()


async def reply_once_ended(events: AsyncEventStream, question: Message) -> Message:
    """The reply to ``question`` once it has ended (complete, failed or cancelled), as ``events`` tell."""
    async with asyncio.timeout(WAIT_SECONDS):
        async for item in events:
            if isinstance(item, Event) and item.type == "message.updated":
                message = item.message()
                if message.metadata.get("in_reply_to") == str(question.id) and message.status != "streaming":
                    return message
    raise AssertionError("the stream ended before a reply did")


async def reply_showing(events: AsyncEventStream, text: str) -> UUID:
    """The id of the reply on ``events`` once its deltas have built ``text``."""
    shown: dict[UUID, str] = {}
    async with asyncio.timeout(WAIT_SECONDS):
        async for item in events:
            if isinstance(item, Event) and item.type == "message.delta":
                delta = item.delta()
                shown[delta.message_id] = shown.get(delta.message_id, "")[: delta.offset] + delta.text
                if shown[delta.message_id] == text:
                    return delta.message_id
    raise AssertionError("the stream ended before the reply showed the text")


async def test_a_user_message_gets_the_models_chunks_as_a_streamed_reply(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    model = FakeModel(chunks=["Hello", ", ", "Alice", "! 🙂"])
    async with (
        running_bridge(server, alice, place, model),
        alice.events(conversation_id=place.conversation.id) as events,
    ):
        question = await alice.post_message(place.conversation.id, "Say hello")
        reply = await reply_once_ended(events, question)

    assert (reply.content, reply.status, reply.role) == ("Hello, Alice! 🙂", "complete", "assistant")
    assert reply.metadata == {"in_reply_to": str(question.id)}
    assert reply.seq == question.seq + 1
    [request] = model.requests
    assert (request["model"], request["stream"]) == ("fake-1", True)
    assert request["messages"] == [{"role": "user", "content": "Say hello"}]


async def test_cancelling_the_reply_ends_the_model_request(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    model = FakeModel(chunks=["Once", " upon"], hang=True)
    conversation_id = place.conversation.id
    async with (
        running_bridge(server, alice, place, model),
        alice.events(conversation_id=conversation_id) as events,
    ):
        await alice.post_message(conversation_id, "Tell me a long story")
        reply_id = await reply_showing(events, "Once upon")
        await alice.cancel_reply(conversation_id, reply_id)
        await asyncio.wait_for(model.disconnected.wait(), WAIT_SECONDS)
        # Still answering after a cancel: the next question gets the next reply.
        model.hang = False
        next_question = await alice.post_message(conversation_id, "Then a short one")
        after = await reply_once_ended(events, next_question)
        final = await alice.get_message(conversation_id, reply_id)

    assert (final.content, final.status) == ("Once upon", "cancelled")
    assert (after.content, after.status) == ("Once upon", "complete")


async def test_a_model_error_fails_the_reply_with_the_reason(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    model = FakeModel(chunks=[], fail=(500, "The model is overloaded."))
    async with (
        running_bridge(server, alice, place, model),
        alice.events(conversation_id=place.conversation.id) as events,
    ):
        question = await alice.post_message(place.conversation.id, "Anyone there?")
        reply = await reply_once_ended(events, question)

    assert reply.status == "failed"
    assert reply.metadata["error"] == "the model answered 500: The model is overloaded."


async def test_only_other_peoples_user_messages_are_answered_with_the_conversation_as_context(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    model = FakeModel(chunks=["Fine."])
    conversation_id = place.conversation.id
    async with (
        running_bridge(server, alice, place, model),
        alice.events(conversation_id=conversation_id) as events,
    ):
        await alice.post_message(conversation_id, "Be terse.", role="system")
        await alice.post_message(conversation_id, "An assistant's words, posted by hand.", role="assistant")
        question = await alice.post_message(conversation_id, "How are you?")
        reply = await reply_once_ended(events, question)
    messages = await alice.list_messages(conversation_id)

    assert [message.content for message in messages.items][-1] == reply.content == "Fine."
    assert len(messages.items) == 4, "one reply, to the one user message"
    [request] = model.requests
    assert request["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "assistant", "content": "An assistant's words, posted by hand."},
        {"role": "user", "content": "How are you?"},
    ]


async def test_threadline_assistant_echo_answers_word_by_word(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    environment = os.environ | {"THREADLINE_API_KEY": await assistant_key(server, alice, place)}
    bridge = await asyncio.create_subprocess_exec(
        *(THREADLINE, "assistant", "--echo", "--url", server.url),
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert bridge.stderr is not None
        async with asyncio.timeout(WAIT_SECONDS):
            while b"listening" not in await bridge.stderr.readline():
                assert bridge.returncode is None
        async with alice.events(conversation_id=place.conversation.id) as events:
            question = await alice.post_message(place.conversation.id, "Say these  words back")
            reply = await reply_once_ended(events, question)
    finally:
        bridge.terminate()
        await bridge.wait()

    assert (reply.content, reply.status) == ("Say these  words back", "complete")


async def test_one_reply_at_a_time_per_conversation_and_what_came_meanwhile_is_answered_together(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    model = FakeModel(chunks=["Thinking"], hang=True)
    conversation_id = place.conversation.id
    async with (
        running_bridge(server, alice, place, model),
        alice.events(conversation_id=conversation_id) as events,
    ):
        await alice.post_message(conversation_id, "First question")
        busy_reply = await reply_showing(events, "Thinking")
        await alice.post_message(conversation_id, "Second question")
        last = await alice.post_message(conversation_id, "Third question")
        model.hang = False
        await alice.cancel_reply(conversation_id, busy_reply)
        answer = await reply_once_ended(events, last)
    messages = await alice.list_messages(conversation_id)

    assert [(message.content, message.status) for message in messages.items] == [
        ("First question", "complete"),
        ("Thinking", "cancelled"),
        ("Second question", "complete"),
        ("Third question", "complete"),
        ("Thinking", "complete"),
    ]
    assert answer.id == messages.items[-1].id
    assert len(model.requests) == 2, "the questions that came while a reply streamed got one reply"
    assert [message["content"] for message in model.requests[1]["messages"]] == [
        "First question",
        "Second question",
        "Third question",
    ]
