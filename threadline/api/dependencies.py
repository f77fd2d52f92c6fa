"""Request dependencies, each behind an ``Annotated`` alias: the caller, the unit of work, the services.

They are all ``async def``, even those that never await: FastAPI runs a plain ``def`` dependency in a
worker thread, a thread hop per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Unauthenticated
from threadline.models.domain.user import Actor
from threadline.resources import Resources
from threadline.services.auth import AuthService
from threadline.services.conversations import ConversationService
from threadline.services.messages import MessageService
from threadline.services.streams import StreamService
from threadline.services.users import UserService
from threadline.services.workspaces import WorkspaceService

# The token URL makes the "Authorize" button of /docs work; API keys are accepted in the same header.
_bearer = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    description="An access token from login, or an API key, as `Authorization: Bearer …`.",
)


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_unit_of_work(resources: ResourcesDep) -> UnitOfWork:
    return UnitOfWork(resources.database)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]


async def get_auth_service(uow: UnitOfWorkDep, resources: ResourcesDep) -> AuthService:
    return AuthService(uow, hasher=resources.hasher, tokens=resources.tokens, throttle=resources.throttle)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_user_service(uow: UnitOfWorkDep, resources: ResourcesDep) -> UserService:
    return UserService(uow, hasher=resources.hasher)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]


async def get_workspace_service(uow: UnitOfWorkDep, resources: ResourcesDep) -> WorkspaceService:
    return WorkspaceService(uow, resources.bus)


WorkspaceServiceDep = Annotated[WorkspaceService, Depends(get_workspace_service)]


async def get_conversation_service(uow: UnitOfWorkDep, resources: ResourcesDep) -> ConversationService:
    return ConversationService(uow, resources.bus)


ConversationServiceDep = Annotated[ConversationService, Depends(get_conversation_service)]


async def get_message_service(uow: UnitOfWorkDep, resources: ResourcesDep) -> MessageService:
    return MessageService(uow, resources.bus)


MessageServiceDep = Annotated[MessageService, Depends(get_message_service)]


async def get_stream_service(uow: UnitOfWorkDep, resources: ResourcesDep) -> StreamService:
    return StreamService(uow, resources.hub)


StreamServiceDep = Annotated[StreamService, Depends(get_stream_service)]


async def get_current_actor(token: Annotated[str | None, Depends(_bearer)], auth: AuthServiceDep) -> Actor:
    if not token:
        raise Unauthenticated("Missing credentials: send Authorization: Bearer <token or API key>")
    return await auth.authenticate(token)


CurrentActor = Annotated[Actor, Depends(get_current_actor)]


async def get_stream_actor(
    token: Annotated[str | None, Depends(_bearer)],
    auth: AuthServiceDep,
    stream_token: Annotated[
        str | None,
        Query(
            alias="token",
            description="A stream token from `POST /v1/auth/stream-tokens`, for clients that cannot set "
            "headers (EventSource). Access tokens and API keys are refused here.",
        ),
    ] = None,
) -> Actor:
    """The caller of an event stream: ``Authorization: Bearer`` as elsewhere, or ``?token=``."""
    if stream_token is None:
        return await get_current_actor(token, auth)
    return await auth.authenticate(stream_token, stream=True)


StreamActor = Annotated[Actor, Depends(get_stream_actor)]
