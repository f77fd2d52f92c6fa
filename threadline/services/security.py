"""Password hashing, signed tokens and API-key secrets."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple
from uuid import UUID

import jwt
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

from threadline.errors import Unauthenticated
from threadline.models.domain.user import IssuedToken

API_KEY_MARK = "tl_"
_JWT_ALGORITHM = "HS256"


class PasswordHasher:
    """Argon2id, run in a worker thread: hashing is deliberately slow and must not stall the event loop."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 64 * 1024) -> None:
        self._argon2 = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check ``password``; with no hash (unknown user) spend the same time so timing reveals nothing."""
        try:
            stored = password_hash or self._dummy_hash
            matches = await asyncio.to_thread(self._argon2.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False
        return matches and password_hash is not None


class TokenKind(StrEnum):
    ACCESS = "access"
    STREAM = "stream"


class TokenIssuer:
    """Signs and checks the JWTs handed to clients; each kind is good only for its own use.

    A client sends the same token with every request until it expires, and checking one costs more than
    the rest of authenticating: the last ``remembered`` tokens found valid are remembered (the exact
    string, with its expiry, which is checked again on every use).
    """

    def __init__(
        self,
        secret_key: str,
        *,
        access_ttl_seconds: int,
        stream_ttl_seconds: int,
        remembered: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = secret_key
        self._ttl = {TokenKind.ACCESS: access_ttl_seconds, TokenKind.STREAM: stream_ttl_seconds}
        self._remembered = remembered
        self._clock = clock
        self._verified: dict[str, _RememberedToken] = {}

    def ttl(self, kind: TokenKind) -> timedelta:
        """How long a token of ``kind`` lives from its issue."""
        return timedelta(seconds=self._ttl[kind])

    def issue(
        self,
        user_id: UUID,
        kind: TokenKind,
        *,
        api_key_id: UUID | None = None,
        sign_in_id: UUID | None = None,
    ) -> IssuedToken:
        """A token for ``user_id``; ``api_key_id`` names the API key it was asked for with, if one was, and
        ``sign_in_id`` the sign-in it belongs to (it works only while that does)."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        ttl = self._ttl[kind]
        claims = {"sub": str(user_id), "typ": kind.value, "iat": now, "exp": now + timedelta(seconds=ttl)}
        if api_key_id is not None:
            claims["key"] = str(api_key_id)
        if sign_in_id is not None:
            claims["sid"] = str(sign_in_id)
        return IssuedToken(token=jwt.encode(claims, self._key, algorithm=_JWT_ALGORITHM), expires_in=ttl)

    def verify(self, token: str) -> VerifiedToken:
        """What a valid token says; an expired, malformed or forged one is ``Unauthenticated``."""
        verified = self._verified.get(token) or self._decode(token)
        if self._clock() >= verified.expires_at:
            self._verified.pop(token, None)
            raise Unauthenticated("The token has expired")
        return verified.says

    def _decode(self, token: str) -> _RememberedToken:
        try:
            # ``iat`` is not checked: PyJWT refuses one in the future, which is any fresh token checked by a
            # process whose clock is a little behind the issuer's. ``exp`` is what bounds a token's life.
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_JWT_ALGORITHM],
                options={"require": ["sub", "exp", "typ"], "verify_iat": False},
            )
            key, sign_in = claims.get("key"), claims.get("sid")
            says = VerifiedToken(
                _uuid_claim(claims["sub"]),
                TokenKind(claims["typ"]),
                None if key is None else _uuid_claim(key),
                None if sign_in is None else _uuid_claim(sign_in),
            )
            verified = _RememberedToken(says, float(claims["exp"]))
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise Unauthenticated("The token is not valid") from None
        if len(self._verified) >= self._remembered:
            del self._verified[next(iter(self._verified))]  # the oldest remembered
        self._verified[token] = verified
        return verified


def _uuid_claim(value: object) -> UUID:
    """A claim that names something by its id. ``UUID()`` given a number or a list raises
    ``AttributeError``, which would escape as a 500; it must be a string."""
    if not isinstance(value, str):
        raise ValueError("an id claim must be a string")
    return UUID(value)


class VerifiedToken(NamedTuple):
    user_id: UUID
    kind: TokenKind
    api_key_id: UUID | None
    """The API key a stream token was asked for with: the streams it opens end with that key."""
    sign_in_id: UUID | None = None
    """The sign-in the token belongs to: it works only while the sign-in does."""


class _RememberedToken(NamedTuple):
    says: VerifiedToken
    expires_at: float
    """Seconds since the epoch, as the token's ``exp`` claim."""


def new_api_key_secret() -> tuple[str, str]:
    """A new API key and its public prefix (shown in lists so people can tell their keys apart)."""
    secret = API_KEY_MARK + secrets.token_urlsafe(32)
    return secret, secret[: len(API_KEY_MARK) + 8]


def hash_api_key(secret: str) -> str:
    """SHA-256 suffices: the key has 256 bits of entropy, so nothing slow is needed to resist guessing."""
    return hashlib.sha256(secret.encode()).hexdigest()
