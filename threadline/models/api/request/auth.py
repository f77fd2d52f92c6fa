"""Bodies of the account and credential endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from threadline.models.api.fields import KeyName, PersonName, RequestModel, Text

Email = Annotated[EmailStr, StringConstraints(max_length=254)]
Password = Annotated[Text, Field(min_length=8, max_length=128, description="8 to 128 characters.")]


class RegisterRequest(RequestModel):
    """A new account. The email is case-insensitive and stored lower-case."""

    email: Email
    password: Password
    name: PersonName = ""


class LoginRequest(RequestModel):
    """Email and password, exchanged for an access token."""

    email: Annotated[Text, Field(max_length=254)]
    password: Annotated[Text, Field(max_length=128)]


class UpdateMeRequest(RequestModel):
    """Changes to the caller's own account; a new password needs the current one."""

    name: PersonName | None = None
    password: Password | None = None
    current_password: Annotated[Text, Field(max_length=128)] | None = None


class CreateApiKeyRequest(RequestModel):
    """A new API key, usable as a ``Bearer`` credential until revoked or expired."""

    name: KeyName
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None
