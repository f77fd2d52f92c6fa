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
    """The workspace's id."""
    name: str
    """1 to 100 characters."""
    description: str
    """Up to 2,000 characters; may be empty."""
    metadata: dict[str, Any]
    """The client's free-form JSON object."""
    owner_id: UUID
    """The user who created it and owns it."""
    role: Role = Field(description="The caller's role in this workspace.")
    created_at: datetime
    """When it was created."""
    updated_at: datetime
    """When its name, description or metadata last changed."""
    last_active_at: datetime = Field(description="Moves forward when a conversation or message changes.")

    @classmethod
    def of(cls, access: WorkspaceAccess) -> WorkspaceResponse:
        return cls(**access.workspace.model_dump(), role=access.role)


class MemberResponse(ResponseModel):
    """A member of a workspace."""

    user_id: UUID
    """The member's user id."""
    email: str
    """The member's email."""
    name: str
    """The member's display name."""
    role: Role
    """`owner`, `editor` or `viewer`."""
    added_at: datetime
    """When they joined the workspace."""
