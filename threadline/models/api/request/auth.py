"""Bodies of the account and credential endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, Strict, StringConstraints

from threadline.models.api.fields import KeyName, PersonName, RequestModel, Text

Email = Annotated[EmailStr, StringConstraints(max_length=254)]
Password = Annotated[Text, Field(min_length=8, max_length=128, description="8 to 128 characters.")]

# What a login presents is only compared with what is stored, so it needs no more than the size limits.
LoginEmail = Annotated[Text, Field(max_length=254)]
LoginPassword = Annotated[Text, Field(max_length=128)]


class RegisterRequest(RequestModel):
    """A new account. The email is case-insensitive and stored lower-case."""

    email: Email
    """Up to 254 characters; case-insensitive, stored lower-case."""
    password: Password
    name: PersonName = ""


class LoginRequest(RequestModel):
    """Email and password, exchanged for an access token."""

    email: LoginEmail
    """The account's email, in any case."""
    password: LoginPassword
    """The account's password."""


class TokenForm(BaseModel):
    """The OAuth2 password grant as a form; `username` is the email.

    Other fields (`scope`, `client_id`) are ignored, as OAuth2 (RFC 6749 §3.2) asks of a token endpoint.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    grant_type: Literal["password"] | None = None
    """`password`, or left out."""
    username: LoginEmail
    """The account's email."""
    password: LoginPassword
    """The account's password."""


class UpdateMeRequest(RequestModel):
    """Changes to the caller's own account; a new password needs the current one."""

    name: PersonName | None = None
    """The new display name, up to 100 characters once surrounding whitespace is removed."""
    password: Password | None = None
    """The new password, 8 to 128 characters."""
    current_password: LoginPassword | None = None
    """Needed with a new password."""


class CreateApiKeyRequest(RequestModel):
    """A new API key, usable as a ``Bearer`` credential until revoked or expired."""

    name: KeyName
    # Strict: JSON's true is not a number of days (lax validation would read it as 1).
    expires_in_days: Annotated[int, Strict(), Field(ge=1, le=3650)] | None = None
    """1 to 3650 days; left out, the key never expires."""


class DeleteMeRequest(RequestModel):
    """The current password, to confirm that the account is to be deleted."""

    current_password: LoginPassword
    """The account's password, to confirm the deletion."""
