"""Bodies of the workspace and member endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from threadline.models.api.fields import Metadata, RequestModel, Text, WorkspaceName
from threadline.models.api.request.auth import Email

Description = Annotated[Text, Field(max_length=2000)]


class CreateWorkspaceRequest(RequestModel):
    """A new workspace; the caller becomes its owner."""

    name: WorkspaceName
    description: Description = ""
    metadata: Metadata = Field(default_factory=dict)


class UpdateWorkspaceRequest(RequestModel):
    """Fields to change; the ones left out, or sent as null, stay as they are."""

    name: WorkspaceName | None = None
    description: Description | None = None
    metadata: Metadata | None = None


class AddMemberRequest(RequestModel):
    """Add an existing user, by email, as an editor or a viewer."""

    email: Email
    role: Literal["editor", "viewer"]


class ChangeMemberRoleRequest(RequestModel):
    """The member's new role."""

    role: Literal["editor", "viewer"]
