"""People who use Threadline and the credentials they hold."""

from __future__ import annotations

import contextlib
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from email_validator import EmailNotValidError, validate_email

from threadline.models.domain.base import DomainModel


def canonical_email(email: str) -> str:
    """The one form in which an email is stored and looked up, however a client spelt it.

    Surrounding whitespace removed, as registering removes it; then email-validator's normal form
    (Unicode NFC, the domain's canonical spelling), as registering produces it; then lower-cased: emails
    compare case-insensitively. Text that is no address at all (a mistyped login) is only stripped and
    lower-cased; it matches no account either way.
    """
    email = email.strip()
    with contextlib.suppress(EmailNotValidError):
        email = validate_email(email, check_deliverability=False).normalized
    return email.lower()


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
    api_key_id: UUID | None = None
    """The API key presented, when that was the credential: the streams it opens end if it is revoked."""
    sign_in_id: UUID | None = None
    """The sign-in an access or stream token belongs to: its streams end when the sign-in does."""


class ApiKey(DomainModel):
    id: UUID
    user_id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class SignIn(DomainModel):
    """One login, alive until it expires or is ended (logout, a new password, ending it from a list)."""

    id: UUID
    user_id: UUID
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime
    client_address: str
    user_agent: str


class NewApiKey(DomainModel):
    """A freshly created key: the only moment its secret exists outside the caller's hands."""

    api_key: ApiKey
    secret: str


class IssuedToken(DomainModel):
    token: str
    expires_in: int
