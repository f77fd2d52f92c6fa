"""Export a conversation whole, or fork it into a new one (docs/api-decisions.md)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from threadline.api.dependencies import ConversationCopyServiceDep, CurrentActor
from threadline.api.path_parameters import ConversationId
from threadline.models.api.request.search import ForkConversationRequest
from threadline.models.api.response.conversations import ConversationResponse
from threadline.models.api.response.messages import MessageResponse
from threadline.models.domain.conversation import Conversation, Message

router = APIRouter(prefix="/v1", tags=["conversations"])


class ExportFormat(StrEnum):
    """How an export is written: `json` (one JSON document) or `markdown` (for people)."""

    JSON = "json"
    MARKDOWN = "markdown"


_MEDIA_TYPES = {ExportFormat.JSON: "application/json", ExportFormat.MARKDOWN: "text/markdown; charset=utf-8"}
_EXTENSIONS = {ExportFormat.JSON: "json", ExportFormat.MARKDOWN: "md"}
_EXPORT_DESCRIPTION = {
    "content": {
        "application/json": {
            "schema": {"type": "object", "description": "`{conversation, exported_at, messages}`"}
        },
        "text/markdown": {"schema": {"type": "string"}},
    },
    "description": "The whole conversation, streamed, with `Content-Disposition: attachment`.",
}


@router.get(
    "/conversations/{conversation_id}/export",
    summary="Export a conversation",
    response_class=StreamingResponse,
    responses={200: _EXPORT_DESCRIPTION},
)
async def export_conversation(
    conversation_id: ConversationId,
    actor: CurrentActor,
    copies: ConversationCopyServiceDep,
    format: Annotated[
        ExportFormat, Query(description="`json` (a JSON document) or `markdown` (for people).")
    ] = ExportFormat.JSON,
) -> StreamingResponse:
    """The conversation with every message, in `seq` order, streamed (any member).

    JSON: `{"conversation": Conversation, "exported_at": …, "messages": [Message, …]}`. The export holds
    the messages up to the conversation's last `seq` when it started, each as it stood when its page of
    500 was read (pages are read one short transaction at a time, so a long export never holds the
    database). A caller who loses access mid-export gets a broken-off download, never a complete one.
    """
    conversation, last_seq = await copies.start_export(actor=actor, conversation_id=conversation_id)
    pages = copies.export_pages(actor=actor, conversation_id=conversation_id, through_seq=last_seq)
    body = _json(conversation, pages) if format is ExportFormat.JSON else _markdown(conversation, pages)
    filename = f"{_slug(conversation.title)}-{conversation.id}.{_EXTENSIONS[format]}"
    return StreamingResponse(
        body,
        media_type=_MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.post("/conversations/{conversation_id}/fork", status_code=201, summary="Fork a conversation")
async def fork_conversation(
    conversation_id: ConversationId,
    body: ForkConversationRequest,
    actor: CurrentActor,
    copies: ConversationCopyServiceDep,
) -> ConversationResponse:
    """A new conversation in the same workspace with copies of messages 1..`through_seq` (editor or owner).

    The copies are numbered 1..n without gaps, keep their role, content, metadata, status and author, and
    are created now. The new conversation's `metadata.forked_from` is `{"conversation_id", "through_seq"}`
    (over the source's metadata). Events: `conversation.created`, then `message.created` per copy. A reply
    still streaming within 1..`through_seq` is a 409; `through_seq` beyond the last `seq` a 422.
    """
    forked = await copies.fork(
        actor=actor, conversation_id=conversation_id, through_seq=body.through_seq, title=body.title
    )
    return ConversationResponse.model_validate(forked)


def _slug(title: str) -> str:
    """The title as a file name: ASCII letters, digits and dashes, at most 50."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:50].strip("-")
    return slug or "conversation"


async def _json(conversation: Conversation, pages: AsyncIterator[list[Message]]) -> AsyncIterator[bytes]:
    header = ConversationResponse.model_validate(conversation).model_dump_json()
    exported_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    yield f'{{"conversation":{header},"exported_at":"{exported_at}","messages":['.encode()
    first = True
    async for page in pages:
        items = ",".join(MessageResponse.model_validate(message).model_dump_json() for message in page)
        yield (items if first else "," + items).encode()
        first = False
    yield b"]}"


async def _markdown(conversation: Conversation, pages: AsyncIterator[list[Message]]) -> AsyncIterator[bytes]:
    title = conversation.title or "Untitled conversation"
    exported_at = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    yield (
        f"# {title}\n\n"
        f"Conversation `{conversation.id}` in workspace `{conversation.workspace_id}`, "
        f"created {conversation.created_at:%Y-%m-%d %H:%M} UTC, exported {exported_at}.\n\n"
    ).encode()
    async for page in pages:
        yield "".join(_markdown_message(message) for message in page).encode()


def _markdown_message(message: Message) -> str:
    status = "" if message.status == "complete" else f" ({message.status})"
    when = f"{message.created_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"---\n\n**{message.role.value}**{status} · #{message.seq} · {when}\n\n{message.content}\n\n"
