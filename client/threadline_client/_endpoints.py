"""Every endpoint of the contract, written once for both clients (API.md §2 to §6, docs/streaming.md).

Each method builds the ``Call`` it sends; ``endpoint`` makes it a coroutine method on ``AsyncThreadline``
and a plain one on ``Threadline``. Method names are the server's operation ids.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal
from uuid import UUID

from threadline_client._calls import Call, endpoint, ident, model, nothing, present, query
from threadline_client.models import (
    ApiKey,
    Conversation,
    DeltaAccepted,
    Health,
    Member,
    Message,
    MessageRole,
    MessageWindow,
    NewApiKey,
    Page,
    Readiness,
    SearchHit,
    StreamStats,
    StreamToken,
    Token,
    User,
    Workspace,
)

Id = UUID | str
MemberRole = Literal["editor", "viewer"]


def _conversation(conversation_id: Id) -> str:
    return f"/v1/conversations/{ident(conversation_id)}"


def _message(conversation_id: Id, message_id: Id) -> str:
    return f"{_conversation(conversation_id)}/messages/{ident(message_id)}"


def export_path(conversation_id: Id, format: str) -> tuple[str, dict[str, str]]:
    """Where a conversation's export streams from (the clients read it themselves, piece by piece)."""
    return f"{_conversation(conversation_id)}/export", {"format": format}


class Endpoints:
    """The methods both clients share; each sends one request and answers a typed model."""

    # Accounts and credentials (API.md §2)

    @endpoint
    def register(*, email: str, password: str, name: str = "") -> Call[User]:
        """Create an account (it does not sign in: ``login`` does)."""
        body = {"email": email, "password": password, "name": name}
        return Call("POST", "/v1/auth/register", model(User), json=body)

    @endpoint
    def login(*, email: str, password: str) -> Call[Token]:
        """Sign in with email and password; the client sends the access token from then on."""
        body = {"email": email, "password": password}
        return Call("POST", "/v1/auth/login", model(Token), json=body, signs_in=True)

    @endpoint
    def login_with_form(*, username: str, password: str) -> Call[Token]:
        """Sign in through the OAuth2 password form (``/v1/auth/token``), as ``login`` does."""
        form = {"username": username, "password": password}
        return Call("POST", "/v1/auth/token", model(Token), form=form, signs_in=True)

    @endpoint
    def get_me() -> Call[User]:
        """Your account."""
        return Call("GET", "/v1/users/me", model(User), retry=True)

    @endpoint
    def update_me(
        *, name: str | None = None, password: str | None = None, current_password: str | None = None
    ) -> Call[User]:
        """Change your name, or your password (which needs ``current_password``)."""
        body = present(name=name, password=password, current_password=current_password)
        return Call("PATCH", "/v1/users/me", model(User), json=body)

    @endpoint
    def create_api_key(*, name: str, expires_in_days: int | None = None) -> Call[NewApiKey]:
        """Create an API key for a service; its ``key`` is shown in this answer only."""
        body = present(name=name, expires_in_days=expires_in_days)
        return Call("POST", "/v1/auth/api-keys", model(NewApiKey), json=body)

    @endpoint
    def list_api_keys(*, limit: int | None = None, cursor: str | None = None) -> Call[Page[ApiKey]]:
        """One page of your API keys (without their secrets)."""
        params = query(limit=limit, cursor=cursor)
        return Call("GET", "/v1/auth/api-keys", model(Page[ApiKey]), params=params, retry=True)

    @endpoint
    def revoke_api_key(key_id: Id) -> Call[None]:
        """Revoke an API key: it stops working at once, and streams opened with it end."""
        return Call("DELETE", f"/v1/auth/api-keys/{ident(key_id)}", nothing)

    @endpoint
    def create_stream_token() -> Call[StreamToken]:
        """A short-lived token for ``?token=`` on the event streams (for clients that cannot set headers)."""
        return Call("POST", "/v1/auth/stream-tokens", model(StreamToken), retry=True)

    # Workspaces and members (API.md §3)

    @endpoint
    def create_workspace(
        *, name: str, description: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Call[Workspace]:
        """Create a workspace; you become its owner."""
        body = present(name=name, description=description, metadata=metadata)
        return Call("POST", "/v1/workspaces", model(Workspace), json=body)

    @endpoint
    def list_workspaces(*, limit: int | None = None, cursor: str | None = None) -> Call[Page[Workspace]]:
        """One page of the workspaces you are a member of, newest first."""
        params = query(limit=limit, cursor=cursor)
        return Call("GET", "/v1/workspaces", model(Page[Workspace]), params=params, retry=True)

    @endpoint
    def get_workspace(workspace_id: Id) -> Call[Workspace]:
        """One workspace you are a member of."""
        return Call("GET", f"/v1/workspaces/{ident(workspace_id)}", model(Workspace), retry=True)

    @endpoint
    def update_workspace(
        workspace_id: Id,
        *,
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Call[Workspace]:
        """Change a workspace (owner); fields left ``None`` stay as they are."""
        body = present(name=name, description=description, metadata=metadata)
        return Call("PATCH", f"/v1/workspaces/{ident(workspace_id)}", model(Workspace), json=body)

    @endpoint
    def delete_workspace(workspace_id: Id) -> Call[None]:
        """Delete a workspace with its conversations and messages (owner)."""
        return Call("DELETE", f"/v1/workspaces/{ident(workspace_id)}", nothing)

    @endpoint
    def list_members(
        workspace_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[Member]]:
        """One page of a workspace's members, most recently added first."""
        path = f"/v1/workspaces/{ident(workspace_id)}/members"
        return Call("GET", path, model(Page[Member]), params=query(limit=limit, cursor=cursor), retry=True)

    @endpoint
    def add_member(workspace_id: Id, *, email: str, role: MemberRole) -> Call[Member]:
        """Add an existing account to a workspace (owner)."""
        path = f"/v1/workspaces/{ident(workspace_id)}/members"
        return Call("POST", path, model(Member), json={"email": email, "role": role})

    @endpoint
    def change_member_role(workspace_id: Id, user_id: Id, *, role: MemberRole) -> Call[Member]:
        """Make a member an editor or a viewer (owner)."""
        path = f"/v1/workspaces/{ident(workspace_id)}/members/{ident(user_id)}"
        return Call("PATCH", path, model(Member), json={"role": role})

    @endpoint
    def remove_member(workspace_id: Id, user_id: Id) -> Call[None]:
        """Remove a member (owner), or leave (yourself)."""
        path = f"/v1/workspaces/{ident(workspace_id)}/members/{ident(user_id)}"
        return Call("DELETE", path, nothing)

    # Conversations (API.md §4)

    @endpoint
    def create_conversation(
        workspace_id: Id,
        *,
        title: str | None = None,
        modality: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Call[Conversation]:
        """Start a conversation in a workspace (editor, owner)."""
        path = f"/v1/workspaces/{ident(workspace_id)}/conversations"
        body = present(title=title, modality=modality, metadata=metadata)
        return Call("POST", path, model(Conversation), json=body)

    @endpoint
    def list_conversations(
        workspace_id: Id, *, modality: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[Conversation]]:
        """One page of a workspace's conversations, most recently active first."""
        path = f"/v1/workspaces/{ident(workspace_id)}/conversations"
        params = query(modality=modality, limit=limit, cursor=cursor)
        return Call("GET", path, model(Page[Conversation]), params=params, retry=True)

    @endpoint
    def get_conversation(conversation_id: Id, *, include_messages: bool = False) -> Call[Conversation]:
        """One conversation; with ``include_messages``, its latest 50 messages too, oldest first."""
        params = query(include="messages" if include_messages else None)
        return Call("GET", _conversation(conversation_id), model(Conversation), params=params, retry=True)

    @endpoint
    def update_conversation(
        conversation_id: Id, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Call[Conversation]:
        """Change a conversation's title or metadata (editor, owner)."""
        body = present(title=title, metadata=metadata)
        return Call("PATCH", _conversation(conversation_id), model(Conversation), json=body)

    @endpoint
    def delete_conversation(conversation_id: Id) -> Call[None]:
        """Delete a conversation and its messages (editor, owner)."""
        return Call("DELETE", _conversation(conversation_id), nothing)

    @endpoint
    def fork_conversation(
        conversation_id: Id, *, through_seq: int, title: str | None = None
    ) -> Call[Conversation]:
        """A new conversation in the same workspace with copies of messages 1..``through_seq`` (editor,
        owner); its ``metadata.forked_from`` names the source."""
        body = {"through_seq": through_seq, **present(title=title)}
        return Call("POST", f"{_conversation(conversation_id)}/fork", model(Conversation), json=body)

    # Search (docs/search.md)

    @endpoint
    def search(
        q: str,
        *,
        workspace_id: Id | None = None,
        conversation_id: Id | None = None,
        role: MessageRole | None = None,
        before: str | None = None,
        after: str | None = None,
        sort: Literal["newest", "relevance"] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[Page[SearchHit]]:
        """One page of the messages and conversation titles matching ``q`` in your workspaces: words (all
        must match), ``"a phrase"``, ``prefix*``, ``-excluded``. ``before``/``after`` are RFC 3339 times."""
        params = query(
            q=q,
            workspace_id=ident(workspace_id) if workspace_id else None,
            conversation_id=ident(conversation_id) if conversation_id else None,
            role=role,
            before=before,
            after=after,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return Call("GET", "/v1/search", model(Page[SearchHit]), params=params, retry=True)

    # Messages (API.md §5)

    @endpoint
    def post_message(
        conversation_id: Id,
        content: str,
        *,
        role: MessageRole | None = None,
        metadata: dict[str, Any] | None = None,
        status: Literal["complete", "streaming"] | None = None,
        idempotency_key: str | None = None,
    ) -> Call[Message]:
        """Post a message (editor, owner), at most once: it carries an ``Idempotency-Key`` (a new one unless
        given), so a retry after a lost answer returns the message instead of posting it again."""
        body = {"content": content, **present(role=role, metadata=metadata, status=status)}
        key = idempotency_key or str(uuid.uuid4())
        path = f"{_conversation(conversation_id)}/messages"
        return Call("POST", path, model(Message), json=body, headers={"Idempotency-Key": key}, retry=True)

    @endpoint
    def list_messages(
        conversation_id: Id, *, limit: int | None = None, after: int | None = None, before: int | None = None
    ) -> Call[MessageWindow]:
        """A slice of messages, oldest first: the latest, or those after or before a ``seq``."""
        params = query(limit=limit, after=after, before=before)
        path = f"{_conversation(conversation_id)}/messages"
        return Call("GET", path, model(MessageWindow), params=params, retry=True)

    @endpoint
    def get_message(conversation_id: Id, message_id: Id) -> Call[Message]:
        """One message, as it is now (a streaming reply: its text so far)."""
        return Call("GET", _message(conversation_id, message_id), model(Message), retry=True)

    @endpoint
    def update_message(
        conversation_id: Id,
        message_id: Id,
        *,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Call[Message]:
        """Edit a message's content or metadata (its author, or the owner)."""
        body = present(content=content, metadata=metadata)
        return Call("PATCH", _message(conversation_id, message_id), model(Message), json=body)

    @endpoint
    def delete_message(conversation_id: Id, message_id: Id) -> Call[None]:
        """Delete a message (its author, or the owner); its ``seq`` is never reused."""
        return Call("DELETE", _message(conversation_id, message_id), nothing)

    # Streaming replies (docs/streaming.md); ``reply()`` drives these for you.

    @endpoint
    def append_delta(conversation_id: Id, message_id: Id, *, offset: int, text: str) -> Call[DeltaAccepted]:
        """Append ``text`` to a streaming reply at ``offset``, its stored length; a repeat is harmless."""
        path = f"{_message(conversation_id, message_id)}/deltas"
        body = {"offset": offset, "text": text}
        return Call("POST", path, model(DeltaAccepted), json=body, retry=True)

    @endpoint
    def finish_reply(
        conversation_id: Id,
        message_id: Id,
        *,
        status: Literal["complete", "failed"] = "complete",
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Call[Message]:
        """End a streaming reply (its author); ``content`` replaces the text, ``metadata`` the metadata."""
        path = f"{_message(conversation_id, message_id)}/finish"
        body = {"status": status, **present(content=content, metadata=metadata)}
        return Call("POST", path, model(Message), json=body, retry=True)

    @endpoint
    def cancel_reply(conversation_id: Id, message_id: Id) -> Call[Message]:
        """Stop a streaming reply (editor, owner): its author learns it and stops writing."""
        path = f"{_message(conversation_id, message_id)}/cancel"
        return Call("POST", path, model(Message), retry=True)

    # Operations (API.md §6, §7)

    @endpoint
    def get_event_stats() -> Call[StreamStats]:
        """Open streams and events fanned out, of the one server process that answers."""
        return Call("GET", "/v1/events/stats", model(StreamStats), retry=True)

    @endpoint
    def health() -> Call[Health]:
        """Whether the server process runs."""
        return Call("GET", "/health", model(Health), retry=True)

    @endpoint
    def ready() -> Call[Readiness]:
        """Whether the server can serve: its database and event bus answer (``Unavailable`` if not)."""
        return Call("GET", "/ready", model(Readiness))
