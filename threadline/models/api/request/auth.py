"""Bodies of the account and credential endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, Strict, StringConstraints

from threadline.models.api.fields import KeyName, PersonName, RequestModel, Text

Email = Annotated[EmailStr, StringConstraints(max_length=254)]
Password = Annotated[Text, Field(min_length=8, max_length=128, description="8 to 128 characters.")]

# What a login presents is only compared with what is stored, so it needs no more than the size limits.
LoginEmail = Annotated[Text, Field(max_length=254)]
LoginPassword = Annotated[Text, Field(max_length=128)]


class RegisterRequest(RequestModel):
    """A new account. The email is case-insensitive and stored lower-case."""

    email: Email
    password: Password
    name: PersonName = ""


class LoginRequest(RequestModel):
    """Email and password, exchanged for an access token."""

    email: LoginEmail
    password: LoginPassword


class TokenForm(BaseModel):
    """The OAuth2 password grant as a form; `username` is the email.

    Other fields (`scope`, `client_id`) are ignored, as OAuth2 (RFC 6749 §3.2) asks of a token endpoint.
    """

    grant_type: Literal["password"] | None = None
    username: LoginEmail
    password: LoginPassword


class UpdateMeRequest(RequestModel):
    """Changes to the caller's own account; a new password needs the current one."""

    name: PersonName | None = None
    password: Password | None = None
    current_password: LoginPassword | None = None


class CreateApiKeyRequest(RequestModel):
    """A new API key, usable as a ``Bearer`` credential until revoked or expired."""

    name: KeyName
    # Strict: JSON's true is not a number of days (lax validation would read it as 1).
    expires_in_days: Annotated[int, Strict(), Field(ge=1, le=3650)] | None = None


class DeleteMeRequest(RequestModel):
    """The current password, to confirm that the account is to be deleted."""

    current_password: LoginPassword
