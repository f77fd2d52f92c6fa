"""Request dependencies, each behind an ``Annotated`` alias: the caller and the services.

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
from threadline.services.conversation_copies import ConversationCopyService
from threadline.services.conversations import ConversationService
from threadline.services.messages import MessageService
from threadline.services.replies import ReplyService
from threadline.services.search import SearchService
from threadline.services.streams import StreamService
from threadline.services.users import UserService
from threadline.services.workspaces import WorkspaceService

# The token URL makes the "Authorize" button of /docs work; API keys are accepted in the same header.
_bearer = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    description="An access token from login, or an API key, as `Authorization: Bearer …`.",
)


# Each service is built straight from the app's resources rather than from sub-dependencies (a unit of
# work, the resources): FastAPI's cost is per dependency, and it would double the framework's share of
# every request.


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def _auth_service(resources: Resources) -> AuthService:
    return AuthService(
        UnitOfWork(resources.database),
        hasher=resources.hasher,
        tokens=resources.tokens,
        throttle=resources.throttle,
        sign_ins=resources.sign_ins,
    )


async def get_resources(request: Request) -> Resources:
    return _resources(request)


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_auth_service(request: Request) -> AuthService:
    return _auth_service(_resources(request))


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_user_service(request: Request) -> UserService:
    resources = _resources(request)
    return UserService(
        UnitOfWork(resources.database), resources.bus, hasher=resources.hasher, sign_ins=resources.sign_ins
    )


UserServiceDep = Annotated[UserService, Depends(get_user_service)]


async def get_workspace_service(request: Request) -> WorkspaceService:
    resources = _resources(request)
    return WorkspaceService(UnitOfWork(resources.database), resources.bus)


WorkspaceServiceDep = Annotated[WorkspaceService, Depends(get_workspace_service)]


async def get_conversation_service(request: Request) -> ConversationService:
    resources = _resources(request)
    return ConversationService(UnitOfWork(resources.database), resources.bus)


ConversationServiceDep = Annotated[ConversationService, Depends(get_conversation_service)]


async def get_conversation_copy_service(request: Request) -> ConversationCopyService:
    resources = _resources(request)
    return ConversationCopyService(UnitOfWork(resources.database), resources.bus)


ConversationCopyServiceDep = Annotated[ConversationCopyService, Depends(get_conversation_copy_service)]


async def get_search_service(request: Request) -> SearchService:
    return SearchService(UnitOfWork(_resources(request).database))


SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]


async def get_message_service(request: Request) -> MessageService:
    resources = _resources(request)
    return MessageService(UnitOfWork(resources.database), resources.bus, resources.appender)


MessageServiceDep = Annotated[MessageService, Depends(get_message_service)]


async def get_reply_service(request: Request) -> ReplyService:
    resources = _resources(request)
    return ReplyService(UnitOfWork(resources.database), resources.bus, resources.deltas)


ReplyServiceDep = Annotated[ReplyService, Depends(get_reply_service)]


async def get_stream_service(request: Request) -> StreamService:
    resources = _resources(request)
    return StreamService(UnitOfWork(resources.database), resources.hub)


StreamServiceDep = Annotated[StreamService, Depends(get_stream_service)]


async def get_current_actor(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Actor:
    return await _authenticate(_auth_service(_resources(request)), token)


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
        return await _authenticate(auth, token)
    return await auth.authenticate(stream_token, stream=True)


StreamActor = Annotated[Actor, Depends(get_stream_actor)]


async def _authenticate(auth: AuthService, token: str | None) -> Actor:
    if not token:
        raise Unauthenticated("Missing credentials: send Authorization: Bearer <token or API key>")
    return await auth.authenticate(token)
