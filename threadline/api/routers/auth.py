"""Registration, login and the caller's credentials (API.md §2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from threadline.api.dependencies import AuthServiceDep, CurrentActor
from threadline.api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from threadline.api.path_parameters import KeyId, SessionId
from threadline.models.api.request.auth import CreateApiKeyRequest, LoginRequest, RegisterRequest, TokenForm
from threadline.models.api.response.auth import (
    ApiKeyResponse,
    NewApiKeyResponse,
    SessionResponse,
    StreamTokenResponse,
    TokenResponse,
    UserResponse,
)
from threadline.models.api.response.base import PageResponse
from threadline.models.domain.user import IssuedToken, User

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/register", status_code=201, summary="Create an account")
async def register(body: RegisterRequest, auth: AuthServiceDep) -> UserResponse:
    """Create an account. The email is stored lower-case; a taken email is 409."""
    user = await auth.register(email=body.email, password=body.password, name=body.name)
    return UserResponse.model_validate(user)


@router.post("/login", summary="Exchange email and password for an access token")
async def login(body: LoginRequest, request: Request, auth: AuthServiceDep) -> TokenResponse:
    """Log in. A wrong email and a wrong password get the same 401; repeated failures get 429."""
    token, user = await auth.login(
        email=body.email, password=body.password, client=_client(request), user_agent=_user_agent(request)
    )
    return _token_response(token, user)


@router.post("/token", summary="OAuth2 password flow (for the Authorize button of /docs)")
async def login_with_form(
    form: Annotated[TokenForm, Form()], request: Request, auth: AuthServiceDep
) -> TokenResponse:
    """The same as login, as an OAuth2 password form: `username` is the email."""
    issued, user = await auth.login(
        email=form.username, password=form.password, client=_client(request), user_agent=_user_agent(request)
    )
    return _token_response(issued, user)


@router.post("/logout", status_code=204, summary="End the sign-in of this access token")
async def logout(actor: CurrentActor, auth: AuthServiceDep) -> Response:
    """Revoke the access token presented, and the stream tokens asked for with it: at once in the process
    that answers, everywhere within a poll period; its open event streams end with `revoked`. With an API
    key it is 403 (revoke the key instead)."""
    await auth.logout(actor=actor)
    return Response(status_code=204)


@router.get("/sessions", summary="List your live sign-ins")
async def list_sessions(
    actor: CurrentActor, auth: AuthServiceDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> PageResponse[SessionResponse]:
    """The caller's sign-ins that have neither expired nor been ended, newest first: when each was made,
    from which address and user agent, and when it was last used (to the minute)."""
    page = await auth.list_sign_ins(actor=actor, limit=limit, cursor=cursor)
    items = [
        SessionResponse(**sign_in.model_dump(exclude={"user_id"}), current=sign_in.id == actor.sign_in_id)
        for sign_in in page.items
    ]
    return PageResponse[SessionResponse](items=items, next_cursor=page.next_cursor)


@router.delete("/sessions/{session_id}", status_code=204, summary="End one of your sign-ins")
async def end_session(session_id: SessionId, actor: CurrentActor, auth: AuthServiceDep) -> Response:
    """End a sign-in, as logging out of it would: its tokens stop working and its open event streams end
    with `revoked`. Another account's sign-in, or one already ended, is 404."""
    await auth.end_sign_in(actor=actor, sign_in_id=session_id)
    return Response(status_code=204)


@router.post("/api-keys", status_code=201, summary="Create an API key")
async def create_api_key(
    body: CreateApiKeyRequest, actor: CurrentActor, auth: AuthServiceDep
) -> NewApiKeyResponse:
    """Create an API key. Its secret `key` is in this response only; store it now."""
    created = await auth.create_api_key(actor=actor, name=body.name, expires_in_days=body.expires_in_days)
    return NewApiKeyResponse(
        **created.api_key.model_dump(exclude={"user_id", "last_used_at"}), key=created.secret
    )


@router.get("/api-keys", summary="List your API keys")
async def list_api_keys(
    actor: CurrentActor, auth: AuthServiceDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> PageResponse[ApiKeyResponse]:
    """The caller's API keys that are not revoked (expired ones included, with `expires_at`), newest first,
    without their secrets."""
    page = await auth.list_api_keys(actor=actor, limit=limit, cursor=cursor)
    return PageResponse[ApiKeyResponse].model_validate(page, from_attributes=True)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: KeyId, actor: CurrentActor, auth: AuthServiceDep) -> Response:
    """Revoke a key; it stops working at once."""
    await auth.revoke_api_key(actor=actor, key_id=key_id)
    return Response(status_code=204)


@router.post("/stream-tokens", status_code=201, summary="Get a short-lived token for event streams")
async def create_stream_token(actor: CurrentActor, auth: AuthServiceDep) -> StreamTokenResponse:
    """A token valid only as `?token=` on the event streams (for EventSource, which cannot set headers)."""
    issued = await auth.issue_stream_token(actor=actor)
    return StreamTokenResponse(token=issued.token, expires_in=issued.expires_in)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


def _token_response(token: IssuedToken, user: User) -> TokenResponse:
    return TokenResponse(
        access_token=token.token, expires_in=token.expires_in, user=UserResponse.model_validate(user)
    )
