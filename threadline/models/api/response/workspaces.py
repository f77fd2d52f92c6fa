"""Bodies answered by the workspace and member endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from threadline.models.api.response.base import ResponseModel
from threadline.models.domain.workspace import Role, WorkspaceAccess


class WorkspaceResponse(ResponseModel):
    """A workspace, with the caller's role in it."""

    id: UUID
    name: str
    description: str
    metadata: dict[str, Any]
    owner_id: UUID
    role: Role = Field(description="The caller's role in this workspace.")
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime = Field(description="Moves forward when a conversation or message changes.")

    @classmethod
    def of(cls, access: WorkspaceAccess) -> WorkspaceResponse:
        return cls(**access.workspace.model_dump(), role=access.role)


class MemberResponse(ResponseModel):
    """A member of a workspace."""

    user_id: UUID
    email: str
    name: str
    role: Role
    added_at: datetime
