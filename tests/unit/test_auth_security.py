"""Password hashes, signed tokens and API-key secrets: the primitives behind API.md §2."""

from __future__ import annotations

import time
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
    assert issuer.verify(issued.token) == (user_id, kind, None, None)


def test_a_token_from_another_key_is_refused() -> None:
    ours = TokenIssuer(KEY, access_ttl_seconds=60, stream_ttl_seconds=60)
    theirs = TokenIssuer(KEY + "-other", access_ttl_seconds=60, stream_ttl_seconds=60)

    with pytest.raises(Unauthenticated):
        ours.verify(theirs.issue(uuid4(), TokenKind.ACCESS).token)


def test_a_remembered_token_still_expires() -> None:
    now = [time.time()]
    issuer = TokenIssuer(KEY, access_ttl_seconds=60, stream_ttl_seconds=60, clock=lambda: now[0])
    user_id = uuid4()
    token = issuer.issue(user_id, TokenKind.ACCESS).token
    assert issuer.verify(token) == (user_id, TokenKind.ACCESS, None, None)

    now[0] += 61

    with pytest.raises(Unauthenticated, match="expired"):
        issuer.verify(token)


def test_a_fresh_token_is_valid_at_a_process_whose_clock_is_behind_the_issuers() -> None:
    """Any process may check a token that another issued; their clocks never agree to the second."""
    ahead = TokenIssuer(KEY, access_ttl_seconds=60, stream_ttl_seconds=60, clock=lambda: time.time() + 5)
    behind = TokenIssuer(KEY, access_ttl_seconds=60, stream_ttl_seconds=60)
    user_id = uuid4()

    assert behind.verify(ahead.issue(user_id, TokenKind.ACCESS).token) == (
        user_id,
        TokenKind.ACCESS,
        None,
        None,
    )


def test_tokens_stay_valid_past_the_memory_of_them() -> None:
    issuer = TokenIssuer(KEY, access_ttl_seconds=60, stream_ttl_seconds=60, remembered=2)
    tokens = {uuid4(): "" for _ in range(5)}
    for user_id in tokens:
        tokens[user_id] = issuer.issue(user_id, TokenKind.ACCESS).token

    for _ in range(2):
        assert [issuer.verify(token)[0] for token in tokens.values()] == list(tokens)


def test_a_token_altered_after_a_good_one_was_remembered_is_refused() -> None:
    issuer = TokenIssuer(KEY, access_ttl_seconds=60, stream_ttl_seconds=60)
    token = issuer.issue(uuid4(), TokenKind.ACCESS).token
    issuer.verify(token)
    header, claims, signature = token.split(".")

    with pytest.raises(Unauthenticated):
        issuer.verify(f"{header}.{claims}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}")


def test_api_key_secrets_are_unique_marked_and_hashed() -> None:
    secret, prefix = new_api_key_secret()
    other, _ = new_api_key_secret()

    assert secret != other
    assert secret.startswith(prefix)
    assert prefix.startswith(API_KEY_MARK)
    assert hash_api_key(secret) == hash_api_key(secret) != hash_api_key(other)
    assert secret not in hash_api_key(secret)
