"""Accounts, a workspace with its members and a conversation, put in place without the HTTP API, for tests
that need them but are not about signing up or creating them.

Users and their sign-ins are written through a unit of work with one password hash made once; their
tokens come from a ``TokenIssuer`` on the app's key. Workspaces, members and conversations go through the
app's services, so they log the same events as over HTTP. See docs/testing.md.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from argon2 import PasswordHasher as Argon2Hasher
from fastapi import FastAPI

from tests.support.accounts import PASSWORD, Account, unique_email
from threadline.api.resources import Resources
from threadline.app import resolve_secret_key
from threadline.database.unit_of_work import UnitOfWork
from threadline.models.api.response.auth import UserResponse
from threadline.models.domain.user import Actor, Credential, canonical_email
from threadline.models.domain.workspace import Role
from threadline.services.security import TokenIssuer, TokenKind


@functools.cache
def _password_hash() -> str:
    """``PASSWORD`` hashed once, as cheaply as Argon2 allows: it still verifies at login."""
    return Argon2Hasher(time_cost=1, memory_cost=64).hash(PASSWORD)


def _issuer(resources: Resources) -> TokenIssuer:
    settings = resources.settings
    return TokenIssuer(
        resolve_secret_key(settings),
        access_ttl_seconds=settings.access_token_ttl_seconds,
        stream_ttl_seconds=settings.stream_token_ttl_seconds,
    )


TEST_CLIENT_ADDRESS = "203.0.113.7"
"""Where the test client's requests come from (tests/conftest.py): a seeded sign-in names it too."""


async def add_account(
    app: FastAPI,
    client: httpx.AsyncClient,
    *,
    name: str = "Test User",
    email: str | None = None,
    client_address: str = TEST_CLIENT_ADDRESS,
) -> Account:
    """A registered, signed-in user, as ``sign_up`` makes one, written straight to the database."""
    resources: Resources = app.state.resources
    now = datetime.now(UTC)
    async with UnitOfWork(resources.database) as uow:
        user = await uow.users.add(
            email=canonical_email(email or unique_email()), name=name, password_hash=_password_hash(), now=now
        )
        sign_in = await uow.sign_ins.add(
            user_id=user.id,
            now=now,
            expires_at=now + timedelta(seconds=resources.settings.access_token_ttl_seconds),
            client_address=client_address,
            user_agent=client.headers.get("user-agent", ""),
        )
        await uow.commit()
    token = _issuer(resources).issue(user.id, TokenKind.ACCESS, sign_in_id=sign_in.id).token
    return Account(client=client, user=UserResponse.model_validate(user).model_dump(mode="json"), token=token)


@dataclass(frozen=True)
class Seeded:
    """What ``seed`` made: the accounts by the names asked for, the workspace and maybe a conversation."""

    accounts: dict[str, Account]
    workspace_id: str
    conversation_id: str | None = None
    roles: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Account:
        return self.accounts[name]


def _actor(account: Account) -> Actor:
    """The caller that ``account``'s token stands for."""
    return Actor(user_id=account.user["id"], credential=Credential.ACCESS_TOKEN)


async def seed(
    app: FastAPI,
    client: httpx.AsyncClient,
    *,
    members: dict[str, str],
    conversation: bool = False,
    workspace_name: str = "Team",
    existing: dict[str, Account] | None = None,
) -> Seeded:
    """One workspace whose members are ``members`` (name to role, exactly one ``owner``), and a conversation
    in it by the owner if asked. ``existing`` accounts are used for their names instead of new ones."""
    resources: Resources = app.state.resources
    services = resources.services
    accounts = {
        name: (existing or {}).get(name) or await add_account(app, client, name=name.title())
        for name in members
    }
    (owner_name,) = [name for name, role in members.items() if role == "owner"]
    owner = _actor(accounts[owner_name])
    workspace = await services.workspaces.create_workspace(
        actor=owner, name=workspace_name, description="", metadata={}
    )
    workspace_id = workspace.workspace.id
    for name, role in members.items():
        if role != "owner":
            await services.workspaces.add_member(
                actor=owner, workspace_id=workspace_id, email=accounts[name].email, role=Role(role)
            )
    conversation_id = None
    if conversation:
        created = await services.conversations.create_conversation(
            actor=owner, workspace_id=workspace_id, title="", modality="chat", metadata={}
        )
        conversation_id = str(created.id)
    return Seeded(accounts, str(workspace_id), conversation_id, dict(members))
