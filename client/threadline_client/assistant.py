"""The assistant bridge: answers every user message in the workspaces its API key's account belongs to, by
streaming a reply from any OpenAI-compatible chat-completions endpoint (or, with ``--echo``, from no
model at all). Run as ``threadline assistant`` or ``threadline-assistant``.

One reply at a time per conversation: user messages that come while one streams are answered together
by the next. A reply that someone cancels stops its model request at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypedDict
from uuid import UUID

import httpx
from pydantic import BaseModel, ValidationError

from threadline_client.client import AsyncThreadline
from threadline_client.errors import Cancelled, ReadableError
from threadline_client.models import Event, Message
from threadline_client.reply import Reply

log = logging.getLogger("threadline_client.assistant")

CONTEXT_MESSAGES = 20
_CHAT_ROLES = frozenset({"user", "assistant", "system"})


class ChatMessage(TypedDict):
    role: str
    content: str


class ChatModel(Protocol):
    """Something that streams a reply to a conversation, chunk by chunk."""

    def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """The reply's text, chunk by chunk; raises ``ModelError`` when the model fails."""
        ...


class ModelError(ReadableError):
    """The model refused or failed; the message says why, and is stored as the failed reply's ``error``."""


class _ChunkDelta(BaseModel):
    content: str | None = None


class _ChunkChoice(BaseModel):
    delta: _ChunkDelta = _ChunkDelta()


class _Chunk(BaseModel):
    """A ``chat.completion.chunk``, or an error a server sends in the middle of a stream."""

    choices: list[_ChunkChoice] = []
    error: dict[str, object] | None = None


class OpenAIModel:
    """A chat-completions endpoint that streams (``stream: true``): OpenAI's, or any compatible one
    (vLLM, llama.cpp, Ollama, LiteLLM, …)."""

    def __init__(
        self, *, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self._model = model

    async def aclose(self) -> None:
        """Close the connections to the model."""
        await self._http.aclose()

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """The model's reply, chunk by chunk as its server sends them."""
        body = {"model": self._model, "messages": list(messages), "stream": True}
        try:
            async with self._http.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code != 200:
                    raise ModelError(_refusal(response.status_code, await response.aread()))
                async for line in response.aiter_lines():
                    for text in _chunk_texts(line):
                        yield text
        except httpx.HTTPError as error:
            raise ModelError(f"the model could not be reached: {error!r}") from error


def _chunk_texts(line: str) -> list[str]:
    """The texts one line of a chat-completions stream carries (none for ``[DONE]``, blanks, comments)."""
    payload = line.removeprefix("data:").strip() if line.startswith("data:") else ""
    if payload in ("", "[DONE]"):
        return []
    try:
        chunk = _Chunk.model_validate_json(payload)
    except ValidationError as error:
        raise ModelError(f"the model sent a chunk that is not JSON: {payload[:200]!r}") from error
    if chunk.error is not None:
        raise ModelError(f"the model failed: {chunk.error.get('message', chunk.error)}")
    return [choice.delta.content for choice in chunk.choices if choice.delta.content]


def _refusal(status: int, body: bytes) -> str:
    """``the model answered 500: <its error message>``, from an OpenAI-style error body if it is one."""
    try:
        error = _Chunk.model_validate_json(body).error or {}
    except ValidationError:
        error = {}
    detail = error.get("message") or body.decode(errors="replace")[:200] or "no detail"
    return f"the model answered {status}: {detail}"


class EchoModel:
    """Says the last user message back, word by word: for trying the bridge without a model."""

    def __init__(self, *, delay: float = 0.05) -> None:
        self._delay = delay

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """The last user message, one word (with the spaces before it) at a time."""
        said = next((message["content"] for message in reversed(messages) if message["role"] == "user"), "")
        for word in re.findall(r"\s*\S+", said):
            await asyncio.sleep(self._delay)
            yield word


@dataclass
class _Turns:
    """One conversation's replies: the newest user message not answered yet, and the reply streaming."""

    waiting: Message | None = None
    reply: Reply | None = None
    worker: asyncio.Task[None] | None = None


@dataclass
class Assistant:
    """Follows ``/v1/events`` and answers each user message with a reply streamed from ``model``."""

    client: AsyncThreadline
    model: ChatModel
    context: int = CONTEXT_MESSAGES
    """Messages of the conversation (the one answered included) the model is shown."""
    system_prompt: str | None = None
    listening: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the stream is subscribed: user messages from then on are answered."""
    _me: UUID | None = None
    _turns: dict[UUID, _Turns] = field(default_factory=dict)

    async def run(self) -> None:
        """Answer until the stream is revoked (the API key was revoked or expired)."""
        self._me = (await self.client.get_me()).id
        async with asyncio.TaskGroup() as tasks, self.client.events() as events:
            self.listening.set()
            log.info("listening for user messages as %s", self._me)
            async for item in events:
                if isinstance(item, Event):
                    self._on_event(item, tasks)
                else:
                    log.info("the stream says %s", item)

    def _on_event(self, event: Event, tasks: asyncio.TaskGroup) -> None:
        if event.type == "message.created":
            message = event.message()
            if message.role == "user" and message.status == "complete" and message.author_id != self._me:
                self._answer_later(message, tasks)
        elif event.type == "message.updated":
            message = event.message()
            reply = self._turns.get(message.conversation_id, _Turns()).reply
            if message.status == "cancelled" and reply is not None and reply.message.id == message.id:
                reply.notice_cancelled()

    def _answer_later(self, message: Message, tasks: asyncio.TaskGroup) -> None:
        turns = self._turns.setdefault(message.conversation_id, _Turns())
        turns.waiting = message
        if turns.worker is None or turns.worker.done():
            turns.worker = tasks.create_task(self._work(message.conversation_id, turns))

    async def _work(self, conversation_id: UUID, turns: _Turns) -> None:
        """Answer the conversation until no user message waits, then forget it."""
        while turns.waiting is not None:
            message, turns.waiting = turns.waiting, None
            await self._answer(message, turns)
        del self._turns[conversation_id]

    async def _answer(self, message: Message, turns: _Turns) -> None:
        """Stream one reply to ``message``; its failure is logged (and stored in the reply), not raised."""
        try:
            context = await self._context(message)
            metadata = {"in_reply_to": str(message.id)}
            async with self.client.reply(message.conversation_id, metadata=metadata) as reply:
                turns.reply = reply
                await reply.pipe(self.model.stream(context))
        except Cancelled:
            log.info("reply to %s was cancelled", message.id)
        except Exception:
            log.exception("could not answer %s", message.id)
        finally:
            turns.reply = None

    async def _context(self, message: Message) -> list[ChatMessage]:
        """The conversation up to ``message``, as chat messages: finished ones with text only."""
        window = await self.client.list_messages(
            message.conversation_id, before=message.seq + 1, limit=self.context
        )
        chat = [
            ChatMessage(role=item.role, content=item.content)
            for item in window.items
            if item.role in _CHAT_ROLES and item.status == "complete" and item.content
        ]
        system = [ChatMessage(role="system", content=self.system_prompt)] if self.system_prompt else []
        return system + chat


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bridge's options, for ``threadline assistant`` and ``threadline-assistant`` alike."""
    environ = os.environ.get
    parser.add_argument("--url", default=environ("THREADLINE_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--api-key", default=environ("THREADLINE_API_KEY"), help="default: $THREADLINE_API_KEY"
    )
    parser.add_argument("--echo", action="store_true", help="say each user message back, without a model")
    parser.add_argument("--model-url", default=environ("OPENAI_BASE_URL", "https://api.openai.com/v1"))
    parser.add_argument("--model", default=environ("OPENAI_MODEL"))
    parser.add_argument(
        "--model-key-env",
        default="OPENAI_API_KEY",
        help="the environment variable holding the model's API key (default: OPENAI_API_KEY)",
    )
    parser.add_argument("--context", type=int, default=CONTEXT_MESSAGES, help="messages shown to the model")
    parser.add_argument("--system", default=None, help="a system prompt put before the conversation")


def run(args: argparse.Namespace) -> int:
    """Run the bridge as ``args`` say, until interrupted or its API key is revoked."""
    if not args.api_key:
        print("threadline assistant: set THREADLINE_API_KEY or pass --api-key", file=sys.stderr)
        return 2
    if not (args.echo or args.model):
        print("threadline assistant: pass --model (with --model-url), or --echo", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


async def _serve(args: argparse.Namespace) -> None:
    model: EchoModel | OpenAIModel = (
        EchoModel()
        if args.echo
        else OpenAIModel(
            base_url=args.model_url, model=args.model, api_key=os.environ.get(args.model_key_env)
        )
    )
    async with AsyncThreadline(args.url, token=args.api_key) as client:
        try:
            await Assistant(client, model, context=args.context, system_prompt=args.system).run()
        finally:
            if isinstance(model, OpenAIModel):
                await model.aclose()


def main(argv: list[str] | None = None) -> int:
    """``threadline-assistant``: the bridge as a command of its own, for services that install only the
    client."""
    parser = argparse.ArgumentParser(prog="threadline-assistant", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
