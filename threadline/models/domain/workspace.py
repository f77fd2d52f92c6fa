"""Workspaces, shared between people who each hold a role in it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from threadline.models.domain.base import DomainModel


class Role(StrEnum):
    """A member's role; each role can do everything the ones below it can."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


class Workspace(DomainModel):
    id: UUID
    name: str
    description: str
    metadata: dict[str, Any]
    owner_id: UUID
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime


class WorkspaceAccess(DomainModel):
    """A workspace as one member sees it: with their role."""

    workspace: Workspace
    role: Role


class Member(DomainModel):
    workspace_id: UUID
    user_id: UUID
    email: str
    name: str
    role: Role
    added_at: datetime
