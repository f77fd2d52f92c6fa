"""Streaming an assistant's reply (docs/streaming.md): ``async with client.reply(conversation_id) as reply``
starts a ``streaming`` message, ``await reply.write(text)`` appends, and the block's end finishes it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from threadline_client._calls import backoff
from threadline_client._endpoints import Id
from threadline_client.errors import Cancelled, Conflict, ReadableError, ThreadlineError
from threadline_client.models import Message, MessageRole

if TYPE_CHECKING:
    from threadline_client.client import AsyncThreadline

MAX_DELTA = 8192
"""Characters per delta at most: well inside the 1 MiB body limit however wide the characters."""
MAX_UNSENT = 65536
"""Characters written but not yet stored beyond which ``write`` waits for the sender to catch up."""
PATIENCE = 30.0
"""Seconds a delta is resent for while the server cannot be reached, before the reply fails."""


class Reply:
    """A reply being written: the ``async with`` block starts it (``streaming``), finishes it
    (``complete``) when the block ends, or marks it ``failed`` when the block raises, with the reason in
    its metadata as ``error``.

    ``write`` returns at once: a background sender appends everything unsent as one delta each time the
    previous one is answered, so tokens that come faster than the network are joined. A delta whose answer
    was lost is sent again (the server ignores a repeat), and one refused at its offset is resent from the
    length the server stored. Once the reply is cancelled, ``write`` and the block raise ``Cancelled``.
    """

    def __init__(
        self,
        client: AsyncThreadline,
        conversation_id: Id,
        *,
        role: MessageRole = "assistant",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._conversation_id = conversation_id
        self._role: MessageRole = role
        self._metadata = metadata or {}
        self.text = ""
        """Everything written so far."""
        self._stored = 0
        """How much of ``text`` the server has: the next delta's offset."""
        self._message: Message | None = None
        self._sender: asyncio.Task[None] | None = None
        self._closing = False
        self._cancelled = False
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._stopped = asyncio.Event()

    @property
    def message(self) -> Message:
        """The message as last answered: when it started, and once the block has ended, as it ended."""
        if self._message is None:
            raise RuntimeError("the reply has not started: use it in `async with`")
        return self._message

    async def __aenter__(self) -> Self:
        self._message = await self._client.post_message(
            self._conversation_id, "", role=self._role, metadata=self._metadata, status="streaming"
        )
        self._sender = asyncio.create_task(self._send(), name=f"reply {self._message.id}")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None:
            await self._complete()
        elif not (self._cancelled or isinstance(error, Cancelled)):
            await self._fail(error)
        else:
            await self._stop_sender()

    async def write(self, text: str) -> None:
        """Append ``text``; waits only while more than ``MAX_UNSENT`` characters are still unsent. Raises
        ``Cancelled`` once the reply was cancelled."""
        self._check()
        self.text += text
        self._wake.set()
        while len(self.text) - self._stored > MAX_UNSENT:
            self._progress.clear()
            await self._progress.wait()
            self._check()

    async def pipe(self, chunks: AsyncIterable[str]) -> None:
        """Write each of ``chunks`` (a model's tokens, say). When the reply is cancelled meanwhile, stop
        reading them at once (which ends a model's request) and raise ``Cancelled``."""

        async def write_all() -> None:
            async for chunk in chunks:
                await self.write(chunk)

        writing = asyncio.create_task(write_all())
        stopped = asyncio.create_task(self._stopped.wait())
        try:
            await asyncio.wait({writing, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writing, stopped):
                task.cancel()
            await asyncio.wait({writing, stopped})
        self._check()
        writing.result()

    def notice_cancelled(self) -> None:
        """Tell the reply it was cancelled (seen on an event stream, say): nothing more is sent, and
        ``write``, ``pipe`` and the block raise ``Cancelled``."""
        self._cancelled = True
        self._stopped.set()
        if self._sender is not None:
            self._sender.cancel()

    def _check(self) -> None:
        """Raise what ended the reply early: its cancellation, or the failure of its sender."""
        if self._cancelled:
            raise Cancelled(self.message.id)
        if (failure := self._sender_failure()) is not None:
            raise failure

    def _sender_failure(self) -> BaseException | None:
        if self._sender is None or not self._sender.done() or self._sender.cancelled():
            return None
        return self._sender.exception()

    async def _send(self) -> None:
        """Append what is unsent, one delta at a time, until the block ends and all is stored."""
        try:
            while not (self._closing and self._stored == len(self.text)):
                if self._stored == len(self.text):
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                self._stored = await self._append(self._stored, self.text[self._stored :][:MAX_DELTA])
                self._progress.set()
        except Cancelled:
            return  # ``_cancelled`` says so to ``write`` and the block
        finally:
            self._stopped.set()
            self._progress.set()

    async def _append(self, offset: int, text: str) -> int:
        """Append one delta; answers the stored length, where the next one starts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        for attempt in itertools.count():
            try:
                accepted = await self._client.append_delta(
                    self._conversation_id, self.message.id, offset=offset, text=text
                )
                return accepted.length
            except Conflict as conflict:
                return self._resume_from(conflict)
            except httpx.TransportError:
                if loop.time() > deadline:
                    raise
            await asyncio.sleep(backoff(attempt, base=0.25, cap=1.0))
        raise AssertionError("unreachable")

    def _resume_from(self, conflict: Conflict) -> int:
        """Where to continue after a refused delta: the stored length, while the reply still streams."""
        if conflict.message_status == "cancelled":
            self._cancelled = True
            raise Cancelled(self.message.id) from None
        length = conflict.length
        if conflict.message_status != "streaming" or length is None or length > len(self.text):
            raise conflict
        return length

    async def _complete(self) -> None:
        """Send what is unsent, then finish the reply as ``complete``."""
        self._closing = True
        self._wake.set()
        assert self._sender is not None
        await asyncio.wait({self._sender})
        self._check()
        try:
            self._message = await self._client.finish_reply(
                self._conversation_id, self.message.id, status="complete"
            )
        except Conflict as conflict:
            if conflict.message_status == "cancelled":
                self._cancelled = True
                raise Cancelled(self.message.id) from None
            raise

    async def _fail(self, error: BaseException) -> None:
        """Finish the reply as ``failed`` with everything written and the reason; a failure to do so is
        not raised, so the error that caused it is (the server's idle timeout fails the reply anyway)."""
        await self._stop_sender()
        metadata = self._metadata | {"error": reason_of(error)}
        with contextlib.suppress(ThreadlineError, httpx.TransportError):
            self._message = await self._client.finish_reply(
                self._conversation_id,
                self.message.id,
                status="failed",
                content=self.text or None,
                metadata=metadata,
            )

    async def _stop_sender(self) -> None:
        """Stop sending; what the sender failed with, if it did, is superseded by what the block raised."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.wait({self._sender})
            self._sender_failure()


def reason_of(error: BaseException) -> str:
    """A failed reply's ``error``, readable by the people shown it."""
    if isinstance(error, asyncio.CancelledError):
        return "the assistant stopped before finishing the reply"
    if isinstance(error, ReadableError):
        return str(error)
    return f"{type(error).__name__}: {error}"
