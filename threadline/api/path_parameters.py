"""The ids a path names, each described once for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path

WorkspaceId = Annotated[UUID, Path(description="The workspace's id.")]
ConversationId = Annotated[UUID, Path(description="The conversation's id.")]
MessageId = Annotated[UUID, Path(description="The message's id, in the conversation of the path.")]
UserId = Annotated[UUID, Path(description="The user's id.")]
SessionId = Annotated[UUID, Path(description="The sign-in's id, as `GET /v1/auth/sessions` lists it.")]
KeyId = Annotated[UUID, Path(description="The API key's id, as `GET /v1/auth/api-keys` lists it.")]
