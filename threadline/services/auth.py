"""Accounts and credentials: register, log in, API keys, stream tokens, and checking a credential."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWorkFactory
from threadline.errors import Forbidden, NotFound, Unauthenticated
from threadline.models.domain.pagination import Cursor, Page
from threadline.models.domain.user import (
    Actor,
    ApiKey,
    Credential,
    IssuedToken,
    NewApiKey,
    SignIn,
    User,
    canonical_email,
)
from threadline.services.access import require_account
from threadline.services.login_throttle import LoginThrottle, client_key
from threadline.services.security import (
    API_KEY_MARK,
    PasswordHasher,
    TokenIssuer,
    TokenKind,
    VerifiedToken,
    hash_api_key,
    new_api_key_secret,
)
from threadline.services.sign_ins import SignInRegistry

_BAD_LOGIN = "Incorrect email or password"
_NO_SIGN_IN = "The token belongs to no sign-in (issued before sign-ins were recorded?): log in again"
USER_AGENT_LENGTH = 512


class AuthService:
    """Use cases that create accounts and credentials, and the check of a credential on every request."""

    def __init__(
        self,
        new_unit_of_work: UnitOfWorkFactory,
        *,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        throttle: LoginThrottle,
        sign_ins: SignInRegistry,
    ) -> None:
        self._new_unit_of_work = new_unit_of_work
        self._hasher = hasher
        self._tokens = tokens
        self._throttle = throttle
        self._sign_ins = sign_ins

    async def register(self, *, email: str, password: str, name: str) -> User:
        password_hash = await self._hasher.hash(password)
        async with self._new_unit_of_work() as uow:
            user = await uow.users.add(
                email=canonical_email(email), name=name, password_hash=password_hash, now=datetime.now(UTC)
            )
            await uow.commit()
        return user

    async def login(
        self, *, email: str, password: str, client: str, user_agent: str
    ) -> tuple[IssuedToken, User]:
        email = canonical_email(email)
        email_key = f"email:{email}"
        # Counted as a failure before the slow password check, and taken back once the password proves right.
        attempt = await self._throttle.admit(email_key, client_key(client))
        async with self._new_unit_of_work() as uow:
            user = await uow.users.get_by_email(email)
            password_hash = await uow.users.get_password_hash(user.id) if user else None
        # Checked even for an unknown email (against a dummy hash): answering it sooner would tell which
        # emails have accounts.
        verified = await self._hasher.verify(password_hash, password)
        if user is None or not verified:
            raise Unauthenticated(_BAD_LOGIN)
        await self._throttle.succeeded(attempt, forget=email_key)
        now = datetime.now(UTC)
        async with self._new_unit_of_work() as uow:
            sign_in = await uow.sign_ins.add(
                user_id=user.id,
                now=now,
                expires_at=now + self._tokens.ttl(TokenKind.ACCESS),
                client_address=client[:64],
                user_agent=_printable(user_agent)[:USER_AGENT_LENGTH],
            )
            await uow.commit()
        return self._tokens.issue(user.id, TokenKind.ACCESS, sign_in_id=sign_in.id), user

    async def logout(self, *, actor: Actor) -> None:
        """End the sign-in whose token the caller presents; an API key is no sign-in."""
        if actor.sign_in_id is None:
            raise Forbidden("Only an access token can be logged out; revoke an API key instead")
        await self.end_sign_in(actor=actor, sign_in_id=actor.sign_in_id)

    async def list_sign_ins(self, *, actor: Actor, limit: int, cursor: str | None) -> Page[SignIn]:
        position = Cursor.parse(cursor)
        async with self._new_unit_of_work() as uow:
            return await uow.sign_ins.list_for_user(
                actor.user_id, now=datetime.now(UTC), limit=limit, cursor=position
            )

    async def end_sign_in(self, *, actor: Actor, sign_in_id: UUID) -> None:
        """End one of the caller's sign-ins: its tokens stop working here at once, elsewhere within a poll
        period, and its open streams end with ``revoked``."""
        async with self._new_unit_of_work() as uow:
            ended = await uow.sign_ins.remove(sign_in_id, user_id=actor.user_id)
            await uow.commit()
        if ended is None:
            raise NotFound("Session not found")
        self._sign_ins.ended(ended)

    async def authenticate(self, credential: str, *, stream: bool = False) -> Actor:
        """Who presents ``credential``. Stream tokens are accepted only when ``stream`` is set, and then
        only stream tokens (a query string must never carry a long-lived credential)."""
        if stream:
            token = self._tokens.verify(credential)
            if token.kind is not TokenKind.STREAM:
                raise Unauthenticated("Only a stream token may be passed as ?token=")
            if token.api_key_id is None:
                await self._require_sign_in(token)
            else:
                async with self._new_unit_of_work() as uow:
                    if not await uow.api_keys.usable_among([token.api_key_id], now=datetime.now(UTC)):
                        raise Unauthenticated(
                            "The API key this stream token was issued for is no longer valid"
                        )
            return Actor(
                user_id=token.user_id,
                credential=Credential.STREAM_TOKEN,
                api_key_id=token.api_key_id,
                sign_in_id=token.sign_in_id,
            )
        if credential.startswith(API_KEY_MARK):
            async with self._new_unit_of_work() as uow:
                key = await uow.api_keys.find_usable(hash_api_key(credential), now=datetime.now(UTC))
                await uow.commit()
            if key is None:
                raise Unauthenticated("The API key is not valid")
            return Actor(user_id=key.user_id, credential=Credential.API_KEY, api_key_id=key.id)
        token = self._tokens.verify(credential)
        if token.kind is not TokenKind.ACCESS:
            raise Unauthenticated("A stream token is valid only for event streams")
        await self._require_sign_in(token)
        return Actor(user_id=token.user_id, credential=Credential.ACCESS_TOKEN, sign_in_id=token.sign_in_id)

    async def _require_sign_in(self, token: VerifiedToken) -> None:
        if token.sign_in_id is None:
            raise Unauthenticated(_NO_SIGN_IN)
        await self._sign_ins.require_live(token.sign_in_id, user_id=token.user_id)

    async def create_api_key(self, *, actor: Actor, name: str, expires_in_days: int | None) -> NewApiKey:
        secret, prefix = new_api_key_secret()
        now = datetime.now(UTC)
        expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
        async with self._new_unit_of_work() as uow:
            await require_account(uow, actor)
            key = await uow.api_keys.add(
                user_id=actor.user_id,
                name=name,
                prefix=prefix,
                key_hash=hash_api_key(secret),
                now=now,
                expires_at=expires_at,
            )
            await uow.commit()
        return NewApiKey(api_key=key, secret=secret)

    async def list_api_keys(self, *, actor: Actor, limit: int, cursor: str | None) -> Page[ApiKey]:
        position = Cursor.parse(cursor)
        async with self._new_unit_of_work() as uow:
            return await uow.api_keys.list_for_user(actor.user_id, limit=limit, cursor=position)

    async def revoke_api_key(self, *, actor: Actor, key_id: UUID) -> None:
        async with self._new_unit_of_work() as uow:
            if not await uow.api_keys.revoke(key_id, user_id=actor.user_id, now=datetime.now(UTC)):
                raise NotFound("API key not found")
            await uow.commit()

    async def issue_stream_token(self, *, actor: Actor) -> IssuedToken:
        async with self._new_unit_of_work() as uow:
            await require_account(uow, actor)
        # A stream token stops working with the API key or the sign-in it was asked for with (its streams
        # end with it).
        return self._tokens.issue(
            actor.user_id, TokenKind.STREAM, api_key_id=actor.api_key_id, sign_in_id=actor.sign_in_id
        )


def _printable(text: str) -> str:
    """A header as shown back in a list: control characters (which no real user agent has) dropped."""
    return "".join(character for character in text if character.isprintable())
