"""Accounts, a workspace with its members and a conversation, put in place without the HTTP API, for tests
that need them but are not about signing up or creating them.

Users and their sign-ins are written through a unit of work with one password hash made once; their
tokens come from a ``TokenIssuer`` on the app's key. Workspaces, members and conversations go through the
app's services, so they log the same events as over HTTP. See docs/testing.md.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from argon2 import PasswordHasher as Argon2Hasher
from fastapi import FastAPI

from tests.support.accounts import PASSWORD, Account, unique_email
from threadline.api.resources import Resources
from threadline.app import resolve_secret_key
from threadline.database.unit_of_work import UnitOfWork
from threadline.models.api.response.auth import UserResponse
from threadline.models.api.response.conversations import ConversationResponse
from threadline.models.api.response.workspaces import WorkspaceResponse
from threadline.models.domain.conversation import DEFAULT_MODALITY
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
class SeededWorkspace:
    """The workspace and maybe conversation ``seed_workspace`` made, as the API shows them to the owner."""

    workspace: dict[str, Any]
    conversation: dict[str, Any] | None = None

    @property
    def workspace_id(self) -> str:
        return str(self.workspace["id"])

    @property
    def conversation_id(self) -> str | None:
        return None if self.conversation is None else str(self.conversation["id"])


@dataclass(frozen=True)
class Seeded(SeededWorkspace):
    """What ``seed`` made: also the accounts, by the names asked for, and each one's role."""

    accounts: dict[str, Account] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Account:
        return self.accounts[name]


def _actor(account: Account) -> Actor:
    """The caller that ``account``'s token stands for."""
    return Actor(user_id=account.user["id"], credential=Credential.ACCESS_TOKEN)


async def seed_workspace(
    app: FastAPI,
    owner: Account,
    members: Iterable[tuple[Account, str]] = (),
    *,
    conversation: bool = False,
    name: str = "Team",
) -> SeededWorkspace:
    """A workspace of ``owner`` with ``members`` (account and role), and a conversation in it by the owner
    if asked: as ``create_workspace``, ``add_member`` and ``create_conversation`` make them, without HTTP."""
    services = app.state.resources.services
    actor = _actor(owner)
    access = await services.workspaces.create_workspace(actor=actor, name=name, description="", metadata={})
    workspace_id = access.workspace.id
    for member, role in members:
        await services.workspaces.add_member(
            actor=actor, workspace_id=workspace_id, email=member.email, role=Role(role)
        )
    created = None
    if conversation:
        made = await services.conversations.create_conversation(
            actor=actor, workspace_id=workspace_id, title="", modality=DEFAULT_MODALITY, metadata={}
        )
        created = ConversationResponse.model_validate(made).model_dump(mode="json")
    return SeededWorkspace(WorkspaceResponse.of(access).model_dump(mode="json"), created)


async def seed(
    app: FastAPI, client: httpx.AsyncClient, *, members: dict[str, str], conversation: bool = False
) -> Seeded:
    """New accounts named as ``members`` (name to role, exactly one ``owner``), their workspace, and a
    conversation in it by the owner if asked."""
    accounts = {name: await add_account(app, client, name=name.title()) for name in members}
    (owner,) = [accounts[name] for name, role in members.items() if role == "owner"]
    others = [(accounts[name], role) for name, role in members.items() if role != "owner"]
    made = await seed_workspace(app, owner, others, conversation=conversation)
    return Seeded(made.workspace, made.conversation, accounts, dict(members))
