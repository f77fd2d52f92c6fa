"""Password hashes, signed tokens and API-key secrets: the primitives behind API.md §2."""

from __future__ import annotations

from uuid import uuid4

import pytest

from threadline.errors import Unauthenticated
from threadline.services.security import (
    API_KEY_MARK,
    PasswordHasher,
    TokenIssuer,
    TokenKind,
    hash_api_key,
    new_api_key_secret,
)

KEY = "unit-test-secret-key-long-enough-for-hs256"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_kib=64)


async def test_password_hash_is_argon2id_and_verifies_only_the_password(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery")

    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    assert await hasher.verify(stored, "correct horse battery")
    assert not await hasher.verify(stored, "correct horse battery!")


@pytest.mark.parametrize("stored", [None, "", "not a hash"])
async def test_verify_without_a_usable_hash_is_false(hasher: PasswordHasher, stored: str | None) -> None:
    assert not await hasher.verify(stored, "anything")


@pytest.mark.parametrize("kind", list(TokenKind))
def test_a_token_verifies_to_its_user_and_kind(kind: TokenKind) -> None:
    issuer = TokenIssuer(KEY, access_ttl_seconds=3600, stream_ttl_seconds=300)
    user_id = uuid4()

    issued = issuer.issue(user_id, kind)

    assert issued.expires_in == {TokenKind.ACCESS: 3600, TokenKind.STREAM: 300}[kind]
    assert issuer.verify(issued.token) == (user_id, kind)


def test_a_token_from_another_key_is_refused() -> None:
    ours = TokenIssuer(KEY, access_ttl_seconds=60, stream_ttl_seconds=60)
    theirs = TokenIssuer(KEY + "-other", access_ttl_seconds=60, stream_ttl_seconds=60)

    with pytest.raises(Unauthenticated):
        ours.verify(theirs.issue(uuid4(), TokenKind.ACCESS).token)


def test_api_key_secrets_are_unique_marked_and_hashed() -> None:
    secret, prefix = new_api_key_secret()
    other, _ = new_api_key_secret()

    assert secret != other
    assert secret.startswith(prefix)
    assert prefix.startswith(API_KEY_MARK)
    assert hash_api_key(secret) == hash_api_key(secret) != hash_api_key(other)
    assert secret not in hash_api_key(secret)
