"""Workspaces and their members (API.md §3)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from threadline.api.dependencies import CurrentActor, WorkspaceServiceDep
from threadline.api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from threadline.api.path_parameters import UserId, WorkspaceId
from threadline.models.api.request.workspaces import (
    AddMemberRequest,
    ChangeMemberRoleRequest,
    CreateWorkspaceRequest,
    UpdateWorkspaceRequest,
)
from threadline.models.api.response.base import PageResponse
from threadline.models.api.response.workspaces import MemberResponse, WorkspaceResponse
from threadline.models.domain.workspace import Role

router = APIRouter(prefix="/v1/workspaces", tags=["workspaces"])


@router.post("", status_code=201, summary="Create a workspace")
async def create_workspace(
    body: CreateWorkspaceRequest, actor: CurrentActor, workspaces: WorkspaceServiceDep
) -> WorkspaceResponse:
    """Create a workspace; the caller becomes its owner."""
    access = await workspaces.create_workspace(
        actor=actor, name=body.name, description=body.description, metadata=body.metadata
    )
    return WorkspaceResponse.of(access)


@router.get("", summary="List your workspaces")
async def list_workspaces(
    actor: CurrentActor,
    workspaces: WorkspaceServiceDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> PageResponse[WorkspaceResponse]:
    """The workspaces the caller is a member of, newest first."""
    page = await workspaces.list_workspaces(actor=actor, limit=limit, cursor=cursor)
    return PageResponse[WorkspaceResponse](
        items=[WorkspaceResponse.of(access) for access in page.items], next_cursor=page.next_cursor
    )


@router.get("/{workspace_id}", summary="Get a workspace")
async def get_workspace(
    workspace_id: WorkspaceId, actor: CurrentActor, workspaces: WorkspaceServiceDep
) -> WorkspaceResponse:
    """A workspace the caller is a member of; any other answers 404."""
    return WorkspaceResponse.of(await workspaces.get_workspace(actor=actor, workspace_id=workspace_id))


@router.patch("/{workspace_id}", summary="Update a workspace")
async def update_workspace(
    workspace_id: WorkspaceId,
    body: UpdateWorkspaceRequest,
    actor: CurrentActor,
    workspaces: WorkspaceServiceDep,
) -> WorkspaceResponse:
    """Change the name, description or metadata (owner only)."""
    access = await workspaces.update_workspace(
        actor=actor,
        workspace_id=workspace_id,
        name=body.name,
        description=body.description,
        metadata=body.metadata,
    )
    return WorkspaceResponse.of(access)


@router.delete("/{workspace_id}", status_code=204, summary="Delete a workspace")
async def delete_workspace(
    workspace_id: WorkspaceId, actor: CurrentActor, workspaces: WorkspaceServiceDep
) -> Response:
    """Delete the workspace with its conversations and messages (owner only)."""
    await workspaces.delete_workspace(actor=actor, workspace_id=workspace_id)
    return Response(status_code=204)


@router.get("/{workspace_id}/members", summary="List members")
async def list_members(
    workspace_id: WorkspaceId,
    actor: CurrentActor,
    workspaces: WorkspaceServiceDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> PageResponse[MemberResponse]:
    """The workspace's members, most recently added first."""
    page = await workspaces.list_members(actor=actor, workspace_id=workspace_id, limit=limit, cursor=cursor)
    return PageResponse[MemberResponse].model_validate(page, from_attributes=True)


@router.post("/{workspace_id}/members", status_code=201, summary="Add a member")
async def add_member(
    workspace_id: WorkspaceId, body: AddMemberRequest, actor: CurrentActor, workspaces: WorkspaceServiceDep
) -> MemberResponse:
    """Add a registered user by email as editor or viewer (owner only); unknown email 404, duplicate 409."""
    member = await workspaces.add_member(
        actor=actor, workspace_id=workspace_id, email=body.email, role=Role(body.role)
    )
    return MemberResponse.model_validate(member)


@router.patch("/{workspace_id}/members/{user_id}", summary="Change a member's role")
async def change_member_role(
    workspace_id: WorkspaceId,
    user_id: UserId,
    body: ChangeMemberRoleRequest,
    actor: CurrentActor,
    workspaces: WorkspaceServiceDep,
) -> MemberResponse:
    """Make a member an editor or a viewer (owner only); the owner's own role cannot change."""
    member = await workspaces.change_member_role(
        actor=actor, workspace_id=workspace_id, user_id=user_id, role=Role(body.role)
    )
    return MemberResponse.model_validate(member)


@router.delete("/{workspace_id}/members/{user_id}", status_code=204, summary="Remove a member, or leave")
async def remove_member(
    workspace_id: WorkspaceId, user_id: UserId, actor: CurrentActor, workspaces: WorkspaceServiceDep
) -> Response:
    """The owner removes a member, or a member removes themself; the owner cannot be removed."""
    await workspaces.remove_member(actor=actor, workspace_id=workspace_id, user_id=user_id)
    return Response(status_code=204)
