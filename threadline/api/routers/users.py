"""The caller's own account (API.md §2)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from threadline.api.dependencies import CurrentActor, UserServiceDep
from threadline.models.api.request.auth import DeleteMeRequest, UpdateMeRequest
from threadline.models.api.response.auth import UserResponse

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("/me", summary="Your account")
async def get_me(actor: CurrentActor, users: UserServiceDep) -> UserResponse:
    """The account the credential belongs to."""
    return UserResponse.model_validate(await users.get_me(actor=actor))


@router.patch("/me", summary="Change your name or password")
async def update_me(body: UpdateMeRequest, actor: CurrentActor, users: UserServiceDep) -> UserResponse:
    """Change the name and/or the password; a new password needs `current_password`."""
    user = await users.update_me(
        actor=actor, name=body.name, password=body.password, current_password=body.current_password
    )
    return UserResponse.model_validate(user)


@router.delete("/me", status_code=204, summary="Delete your account")
async def delete_me(body: DeleteMeRequest, actor: CurrentActor, users: UserServiceDep) -> Response:
    """Delete the account, confirmed with `current_password` (a wrong one is 422). Its API keys, sign-ins
    and memberships go with it, and so do the workspaces it owns, with their conversations and messages;
    the messages it wrote in other workspaces stay, with `author_id` null. Members hear
    `workspace.deleted` and `member.removed` as for any deletion or departure."""
    await users.delete_me(actor=actor, current_password=body.current_password)
    return Response(status_code=204)
