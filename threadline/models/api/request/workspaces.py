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
    """Up to 2,000 characters; empty when left out."""
    metadata: Metadata = Field(default_factory=dict)


class UpdateWorkspaceRequest(RequestModel):
    """Fields to change; the ones left out, or sent as null, stay as they are."""

    name: WorkspaceName | None = None
    """The new name, 1 to 100 characters once surrounding whitespace is removed."""
    description: Description | None = None
    """The new description, up to 2,000 characters."""
    metadata: Metadata | None = None
    """Replaces the metadata as a whole."""


class AddMemberRequest(RequestModel):
    """Add an existing user, by email, as an editor or a viewer."""

    email: Email
    """The email of a registered user."""
    role: Literal["editor", "viewer"]
    """The role to give: `editor` or `viewer`."""


class ChangeMemberRoleRequest(RequestModel):
    """The member's new role."""

    role: Literal["editor", "viewer"]
    """`editor` or `viewer`; the owner's role never changes."""
