"""Conversations in a workspace (API.md §4)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from threadline.api.conditional import NOT_MODIFIED, IfNoneMatchHeader, ReadTag
from threadline.api.dependencies import ConversationServiceDep, CurrentActor
from threadline.api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from threadline.api.path_parameters import ConversationId, WorkspaceId
from threadline.models.api.request.conversations import CreateConversationRequest, UpdateConversationRequest
from threadline.models.api.response.base import PageResponse
from threadline.models.api.response.conversations import (
    ConversationResponse,
    ConversationWithMessagesResponse,
)
from threadline.models.domain.conversation import MODALITY_PATTERN, Conversation
from threadline.models.domain.pagination import Page

router = APIRouter(prefix="/v1", tags=["conversations"])

ModalityQuery = Annotated[
    str | None, Query(pattern=MODALITY_PATTERN, description="Only conversations of this modality.")
]
IncludeQuery = Annotated[
    Literal["messages"] | None,
    Query(description="`messages` adds the latest 50 messages, oldest first."),
]


@router.post("/workspaces/{workspace_id}/conversations", status_code=201, summary="Create a conversation")
async def create_conversation(
    workspace_id: WorkspaceId,
    body: CreateConversationRequest,
    actor: CurrentActor,
    conversations: ConversationServiceDep,
) -> ConversationResponse:
    """Start a conversation in the workspace (editor or owner)."""
    conversation = await conversations.create_conversation(
        actor=actor,
        workspace_id=workspace_id,
        title=body.title,
        modality=body.modality,
        metadata=body.metadata,
    )
    return ConversationResponse.model_validate(conversation)


@router.get(
    "/workspaces/{workspace_id}/conversations",
    summary="List conversations",
    response_model=PageResponse[ConversationResponse],
    responses=NOT_MODIFIED,
)
async def list_conversations(
    workspace_id: WorkspaceId,
    actor: CurrentActor,
    conversations: ConversationServiceDep,
    response: Response,
    modality: ModalityQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    if_none_match: IfNoneMatchHeader = None,
) -> PageResponse[ConversationResponse] | Response:
    """The workspace's conversations, most recently active first (any member).

    The answer's `ETag` changes with any change in the workspace; send it back as `If-None-Match` to get
    304 while it is current (a page answered 304 keeps the `next_cursor` you hold, which expires an hour
    after its walk began).
    """
    read = ReadTag("conversations", workspace_id, f"{modality}|{limit}|{cursor}")
    page = await conversations.list_conversations(
        actor=actor,
        workspace_id=workspace_id,
        modality=modality,
        limit=limit,
        cursor=cursor,
        known_version=read.known_version(if_none_match),
    )
    return read.answer(page, _conversation_page, response)


def _conversation_page(page: Page[Conversation]) -> PageResponse[ConversationResponse]:
    return PageResponse[ConversationResponse].model_validate(page, from_attributes=True)


@router.get(
    "/conversations/{conversation_id}",
    summary="Get a conversation",
    response_model=ConversationWithMessagesResponse | ConversationResponse,
    responses=NOT_MODIFIED,
)
async def get_conversation(
    conversation_id: ConversationId,
    actor: CurrentActor,
    conversations: ConversationServiceDep,
    response: Response,
    include: IncludeQuery = None,
    if_none_match: IfNoneMatchHeader = None,
) -> ConversationWithMessagesResponse | ConversationResponse | Response:
    """A conversation (any member); with `include=messages` it carries its latest 50 messages.

    The answer's `ETag` changes with any change to the conversation or its messages; send it back as
    `If-None-Match` to get 304 while it is current.
    """
    read = ReadTag("conversation", conversation_id, include or "")
    known = read.known_version(if_none_match)
    if include == "messages":
        found = await conversations.get_conversation_with_messages(
            actor=actor, conversation_id=conversation_id, known_version=known
        )
        return read.answer(found, ConversationWithMessagesResponse.of, response)
    plain = await conversations.get_conversation(
        actor=actor, conversation_id=conversation_id, known_version=known
    )
    return read.answer(plain, ConversationResponse.model_validate, response)


@router.patch("/conversations/{conversation_id}", summary="Update a conversation")
async def update_conversation(
    conversation_id: ConversationId,
    body: UpdateConversationRequest,
    actor: CurrentActor,
    conversations: ConversationServiceDep,
) -> ConversationResponse:
    """Change the title or metadata (editor or owner)."""
    conversation = await conversations.update_conversation(
        actor=actor,
        conversation_id=conversation_id,
        title=body.title,
        metadata=body.metadata,
    )
    return ConversationResponse.model_validate(conversation)


@router.delete("/conversations/{conversation_id}", status_code=204, summary="Delete a conversation")
async def delete_conversation(
    conversation_id: ConversationId, actor: CurrentActor, conversations: ConversationServiceDep
) -> Response:
    """Delete the conversation with its messages (editor or owner)."""
    await conversations.delete_conversation(actor=actor, conversation_id=conversation_id)
    return Response(status_code=204)
