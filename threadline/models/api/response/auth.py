"""Bodies answered by the account and credential endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from threadline.models.api.response.base import ResponseModel


class UserResponse(ResponseModel):
    """A Threadline account."""

    id: UUID
    email: str
    name: str
    created_at: datetime
    updated_at: datetime


class TokenResponse(ResponseModel):
    """An access token for ``Authorization: Bearer``, and who it belongs to."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserResponse


class ApiKeyResponse(ResponseModel):
    """An API key as listed: its secret is never shown again after creation."""

    id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class NewApiKeyResponse(ResponseModel):
    """A just-created API key; ``key`` is shown this once and stored only as a hash."""

    id: UUID
    name: str
    prefix: str
    key: str
    created_at: datetime
    expires_at: datetime | None


class StreamTokenResponse(ResponseModel):
    """A short-lived token accepted only by the event streams, as ``?token=``."""

    token: str
    expires_in: int


class SessionResponse(ResponseModel):
    """A live sign-in: one login, and the access token it issued."""

    id: UUID
    created_at: datetime
    last_used_at: datetime = Field(
        description="When a request last presented its token (or a stream token asked for with it), to "
        "the minute."
    )
    expires_at: datetime
    client_address: str = Field(
        description="The client's address at login (behind a trusted proxy, from `X-Forwarded-For`)."
    )
    user_agent: str = Field(description="The `User-Agent` the login came with (empty if none).")
    current: bool = Field(description="Whether this is the sign-in of the token that asked for the list.")
