"""Replies that stream (docs/streaming.md): deltas, finishing and cancelling a streaming message."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from starlette.requests import ClientDisconnect

from threadline.api.dependencies import CurrentActor, ReplyServiceDep
from threadline.api.ndjson import NDJSON, is_ndjson, lines, parse
from threadline.api.path_parameters import ConversationId, MessageId
from threadline.models.api.request.messages import DeltaRequest, FinishRequest
from threadline.models.api.response.messages import DeltaResponse, MessageResponse, ReplyConflictResponse
from threadline.models.domain.reply import Delta, MessageStatus
from threadline.models.domain.user import Actor
from threadline.services.replies import ReplyService

router = APIRouter(prefix="/v1/conversations/{conversation_id}/messages/{message_id}", tags=["messages"])

# The body is read by hand, as JSON or as JSON lines, so it is described here rather than by a parameter.
_DELTA_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DeltaRequest.model_json_schema()},
            NDJSON: {"schema": DeltaRequest.model_json_schema()},
        },
        "description": "A delta as JSON, or (`application/x-ndjson`) one a line, each applied as it arrives.",
    }
}
_CONFLICTS: dict[int | str, dict[str, Any]] = {
    409: {"model": ReplyConflictResponse, "description": "The reply stands elsewhere, or has ended."}
}


@router.post(
    "/deltas", summary="Append to a streaming reply", openapi_extra=_DELTA_BODY, responses=_CONFLICTS
)
async def append_delta(
    conversation_id: ConversationId,
    message_id: MessageId,
    request: Request,
    actor: CurrentActor,
    replies: ReplyServiceDep,
) -> DeltaResponse:
    """Append text at `offset`, which must be the reply's stored length (its author, while it streams).

    A repeat of a delta already applied answers 200 and writes nothing; any other offset is 409 with the
    stored `length`; a reply that has ended is 409 with its `message_status`. With
    `Content-Type: application/x-ndjson` the body carries one delta a line, each applied as it arrives;
    the answer is the first refusal, or the length after the last line.
    """
    if is_ndjson(request.headers.get("content-type")):
        length = await _append_lines(conversation_id, message_id, request, actor, replies)
    else:
        body = parse(DeltaRequest, await request.body())
        length = await replies.append_delta(actor=actor, delta=_delta(conversation_id, message_id, body))
    return DeltaResponse(length=length)


async def _append_lines(
    conversation_id: ConversationId,
    message_id: MessageId,
    request: Request,
    actor: Actor,
    replies: ReplyService,
) -> int:
    """Queue each line's delta as it arrives, without waiting for the one before (those that arrive
    together are written together); the length after the last, or the first refusal."""
    queued: list[asyncio.Future[int]] = []
    try:
        line_number = 0
        async for line in lines(request.stream()):
            body = parse(DeltaRequest, line, loc=("body", line_number))
            queued.append(replies.append_delta(actor=actor, delta=_delta(conversation_id, message_id, body)))
            line_number += 1
    except ClientDisconnect:
        pass  # a dropped upload: the lines that arrived stand, and its author resumes from the stored length
    finally:
        # Every queued delta is answered before this one is, whatever ended the upload.
        answers = await asyncio.gather(*queued, return_exceptions=True)
    lengths = []
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
        lengths.append(answer)
    if not lengths:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "The body holds no delta", "type": "missing"}]
        )
    return lengths[-1]


def _delta(conversation_id: ConversationId, message_id: MessageId, body: DeltaRequest) -> Delta:
    return Delta(conversation_id=conversation_id, message_id=message_id, offset=body.offset, text=body.text)


@router.post("/finish", summary="Finish a streaming reply", responses=_CONFLICTS)
async def finish_reply(
    conversation_id: ConversationId,
    message_id: MessageId,
    body: FinishRequest,
    actor: CurrentActor,
    replies: ReplyServiceDep,
) -> MessageResponse:
    """End the reply as `complete` or `failed` (its author); `content` replaces the streamed text.

    A repeat of the same finish answers 200 again; finishing a reply that ended otherwise is 409.
    """
    message = await replies.finish(
        actor=actor,
        conversation_id=conversation_id,
        message_id=message_id,
        status=MessageStatus(body.status),
        content=body.content,
        metadata=body.metadata,
    )
    return MessageResponse.model_validate(message)


@router.post("/cancel", summary="Stop a streaming reply", responses=_CONFLICTS)
async def cancel_reply(
    conversation_id: ConversationId, message_id: MessageId, actor: CurrentActor, replies: ReplyServiceDep
) -> MessageResponse:
    """Stop the reply (any editor or owner): it ends `cancelled`, and its author's next delta is 409.

    Cancelling a reply already cancelled answers 200 again; one that ended otherwise is 409.
    """
    message = await replies.cancel(actor=actor, conversation_id=conversation_id, message_id=message_id)
    return MessageResponse.model_validate(message)
