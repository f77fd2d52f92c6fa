"""Request dependencies, each behind an ``Annotated`` alias: the caller and the services.

They are all ``async def``, even those that never await: FastAPI runs a plain ``def`` dependency in a
worker thread, a thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from threadline.api.resources import Resources, Services
from threadline.errors import Unauthenticated
from threadline.models.domain.user import Actor
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


# Each service is read straight from the app's resources rather than through sub-dependencies: FastAPI's
# cost is per dependency, and it would double the framework's share of every request.

T = TypeVar("T")


def _services(request: Request) -> Services:
    resources: Resources = request.app.state.resources
    return resources.services


def _provide(pick: Callable[[Services], T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency answering one of the app's services (built once, in the lifespan)."""

    async def provide(request: Request) -> T:
        return pick(_services(request))

    return provide


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]
AuthServiceDep = Annotated[AuthService, Depends(_provide(lambda services: services.auth))]
UserServiceDep = Annotated[UserService, Depends(_provide(lambda services: services.users))]
WorkspaceServiceDep = Annotated[WorkspaceService, Depends(_provide(lambda services: services.workspaces))]
ConversationServiceDep = Annotated[
    ConversationService, Depends(_provide(lambda services: services.conversations))
]
ConversationCopyServiceDep = Annotated[
    ConversationCopyService, Depends(_provide(lambda services: services.conversation_copies))
]
SearchServiceDep = Annotated[SearchService, Depends(_provide(lambda services: services.search))]
MessageServiceDep = Annotated[MessageService, Depends(_provide(lambda services: services.messages))]
ReplyServiceDep = Annotated[ReplyService, Depends(_provide(lambda services: services.replies))]
StreamServiceDep = Annotated[StreamService, Depends(_provide(lambda services: services.streams))]


async def get_current_actor(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Actor:
    return await _authenticate(_services(request).auth, token)


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
