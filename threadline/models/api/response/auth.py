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
    """The account's id."""
    email: str
    """Lower-case."""
    name: str
    """The display name; may be empty."""
    created_at: datetime
    """When the account was registered."""
    updated_at: datetime
    """When the account last changed."""


class TokenResponse(ResponseModel):
    """An access token for ``Authorization: Bearer``, and who it belongs to."""

    access_token: str
    """A signed JWT, sent as `Authorization: Bearer`."""
    token_type: Literal["bearer"] = "bearer"
    """Always `bearer`."""
    expires_in: int
    """Seconds until the token expires."""
    user: UserResponse
    """The account the token belongs to."""


class ApiKeyResponse(ResponseModel):
    """An API key as listed: its secret is never shown again after creation."""

    id: UUID
    """The key's id, to revoke it with."""
    name: str
    """The name given at creation."""
    prefix: str
    """The key's first characters, to tell keys apart."""
    created_at: datetime
    """When the key was created."""
    expires_at: datetime | None
    """When the key stops working; null if never."""
    last_used_at: datetime | None
    """When a request last presented the key; null if never."""


class NewApiKeyResponse(ResponseModel):
    """A just-created API key; ``key`` is shown this once and stored only as a hash."""

    id: UUID
    """The key's id, to revoke it with."""
    name: str
    """The name given at creation."""
    prefix: str
    """The key's first characters, to tell keys apart."""
    key: str
    """The secret: shown this once, stored only as a hash."""
    created_at: datetime
    """When the key was created."""
    expires_at: datetime | None
    """When the key stops working; null if never."""


class StreamTokenResponse(ResponseModel):
    """A short-lived token accepted only by the event streams, as ``?token=``."""

    token: str
    """Pass it as `?token=` to an event stream."""
    expires_in: int
    """Seconds until the token expires."""


class SessionResponse(ResponseModel):
    """A live sign-in: one login, and the access token it issued."""

    id: UUID
    """The sign-in's id, to end it with."""
    created_at: datetime
    """When the login happened."""
    last_used_at: datetime = Field(
        description="When a request last presented its token (or a stream token asked for with it), to "
        "the minute."
    )
    expires_at: datetime
    """When its access token expires."""
    client_address: str = Field(
        description="The client's address at login (behind a trusted proxy, from `X-Forwarded-For`)."
    )
    user_agent: str = Field(description="The `User-Agent` the login came with (empty if none).")
    current: bool = Field(description="Whether this is the sign-in of the token that asked for the list.")
