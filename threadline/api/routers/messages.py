"""Messages in a conversation (API.md §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import TypeAdapter

from threadline.api.conditional import NOT_MODIFIED, IfNoneMatchHeader, ReadTag
from threadline.api.dependencies import CurrentActor, MessageServiceDep
from threadline.api.pagination import DEFAULT_LIMIT, LimitQuery, QueryInteger
from threadline.api.path_parameters import ConversationId, MessageId
from threadline.models.api.request.messages import PostMessageRequest, UpdateMessageRequest
from threadline.models.api.response.messages import MessageResponse, MessageWindowResponse
from threadline.models.domain.conversation import Message
from threadline.models.domain.pagination import MessageWindow
from threadline.models.domain.reply import MessageStatus

router = APIRouter(prefix="/v1/conversations/{conversation_id}/messages", tags=["messages"])

_MAX_SEQ = 2**31 - 1
"""``seq`` is a 32-bit column: a larger bound could never match and would not fit a query parameter."""

AfterQuery = Annotated[
    QueryInteger | None,
    Query(ge=0, le=_MAX_SEQ, description="The first `limit` messages with a greater `seq`."),
]
BeforeQuery = Annotated[
    QueryInteger | None,
    Query(ge=0, le=_MAX_SEQ, description="The last `limit` messages with a smaller `seq`."),
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Posts at most once per key: a repeat with the same body answers the same message.",
    ),
]


@router.post("", status_code=201, summary="Post a message")
async def post_message(
    conversation_id: ConversationId,
    body: PostMessageRequest,
    actor: CurrentActor,
    messages: MessageServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> MessageResponse:
    """Append a message (editor or owner); it gets the conversation's next `seq`.

    With `"status": "streaming"` it starts an assistant's reply, which may be empty at first and grows by
    deltas until it is finished (see `docs/streaming.md`).

    With `Idempotency-Key`, a repeat with the same body answers the same message (201, no second event),
    and a repeat with a different body answers 409.
    """
    message = await messages.post_message(
        actor=actor,
        conversation_id=conversation_id,
        content=body.content,
        role=body.role,
        metadata=body.metadata,
        status=MessageStatus(body.status),
        idempotency_key=idempotency_key,
    )
    return MessageResponse.model_validate(message)


@router.get("", summary="List messages", response_model=MessageWindowResponse, responses=NOT_MODIFIED)
async def list_messages(
    conversation_id: ConversationId,
    actor: CurrentActor,
    messages: MessageServiceDep,
    response: Response,
    limit: LimitQuery = DEFAULT_LIMIT,
    after: AfterQuery = None,
    before: BeforeQuery = None,
    if_none_match: IfNoneMatchHeader = None,
) -> MessageWindowResponse | Response:
    """A slice of the conversation's messages, oldest first (any member).

    Without `after` or `before`, the latest `limit` messages; `after` and `before` cannot be combined.
    The answer's `ETag` changes with any change to the conversation; send it back as `If-None-Match`
    to get 304 while it is current.
    """
    read = ReadTag("messages", conversation_id, f"{limit}:{after}:{before}")
    window = await messages.list_messages(
        actor=actor,
        conversation_id=conversation_id,
        limit=limit,
        after=after,
        before=before,
        known_version=read.known_version(if_none_match),
    )
    return read.answer(window, _window_response, response)


_WINDOW_JSON = TypeAdapter(MessageWindow[Message])


def _window_response(window: MessageWindow[Message]) -> Response:
    """The page encoded straight from the domain window, which has the fields of ``MessageWindowResponse``
    (a test holds them to it): validating it again into the response model first cost a third of a page's
    time. Pages are the hot read path; every other answer goes through its response model."""
    return Response(_WINDOW_JSON.dump_json(window), media_type="application/json")


@router.get("/{message_id}", summary="Get a message")
async def get_message(
    conversation_id: ConversationId, message_id: MessageId, actor: CurrentActor, messages: MessageServiceDep
) -> MessageResponse:
    """One message of the conversation (any member); a deleted one answers 404."""
    message = await messages.get_message(actor=actor, conversation_id=conversation_id, message_id=message_id)
    return MessageResponse.model_validate(message)


@router.patch("/{message_id}", summary="Edit a message")
async def update_message(
    conversation_id: ConversationId,
    message_id: MessageId,
    body: UpdateMessageRequest,
    actor: CurrentActor,
    messages: MessageServiceDep,
) -> MessageResponse:
    """Change the content or metadata (its author, or the workspace owner)."""
    message = await messages.update_message(
        actor=actor,
        conversation_id=conversation_id,
        message_id=message_id,
        content=body.content,
        metadata=body.metadata,
    )
    return MessageResponse.model_validate(message)


@router.delete("/{message_id}", status_code=204, summary="Delete a message")
async def delete_message(
    conversation_id: ConversationId, message_id: MessageId, actor: CurrentActor, messages: MessageServiceDep
) -> Response:
    """Delete the message (its author, or the workspace owner); its `seq` is never reused."""
    await messages.delete_message(actor=actor, conversation_id=conversation_id, message_id=message_id)
    return Response(status_code=204)
