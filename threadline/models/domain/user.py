"""People who use Threadline and the credentials they hold."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from threadline.models.domain.base import DomainModel


class User(DomainModel):
    id: UUID
    email: str
    name: str
    created_at: datetime
    updated_at: datetime


class Credential(StrEnum):
    """How the caller proved who they are; stream tokens are good for event streams only."""

    ACCESS_TOKEN = "access_token"
    API_KEY = "api_key"
    STREAM_TOKEN = "stream_token"


class Actor(DomainModel):
    """The authenticated caller of one request."""

    user_id: UUID
    credential: Credential


class ApiKey(DomainModel):
    id: UUID
    user_id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class NewApiKey(DomainModel):
    """A freshly created key: the only moment its secret exists outside the caller's hands."""

    api_key: ApiKey
    secret: str


class IssuedToken(DomainModel):
    token: str
    expires_in: int
