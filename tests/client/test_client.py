"""The clients against a real server: every endpoint answers its typed model, refusals raise the
exception of their code with the problem document, and the sync client shares the async one's table."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.client.conftest import PASSWORD, Place, sign_up
from tests.support.server import ServerProcess
from threadline_client import (
    AsyncThreadline,
    Conflict,
    Forbidden,
    Message,
    NotFound,
    RetryPolicy,
    Threadline,
    Unauthenticated,
    ValidationError,
)

pytestmark = pytest.mark.e2e


async def test_accounts_and_credentials(server: ServerProcess, alice: AsyncThreadline) -> None:
    me = await alice.get_me()
    renamed = await alice.update_me(name="Alice Liddell")
    key = await alice.create_api_key(name="bot", expires_in_days=30)
    keys = await alice.list_api_keys(limit=10)
    stream_token = await alice.create_stream_token()

    async with AsyncThreadline(server.url, token=key.key) as with_key:
        assert (await with_key.get_me()).id == me.id
        await alice.revoke_api_key(key.id)
        with pytest.raises(Unauthenticated):
            await with_key.get_me()

    assert renamed.name == "Alice Liddell"
    assert key.key.startswith(key.prefix)
    assert [listed.id for listed in keys.items] == [key.id]
    assert keys.next_cursor is None
    assert stream_token.expires_in > 0


async def test_login_with_the_form_signs_the_client_in(server: ServerProcess, alice: AsyncThreadline) -> None:
    email = (await alice.get_me()).email
    async with AsyncThreadline(server.url) as client:
        token = await client.login_with_form(username=email, password=PASSWORD)

        assert client.token == token.access_token
        assert (await client.get_me()).email == email


async def test_workspaces_and_members(server: ServerProcess, alice: AsyncThreadline) -> None:
    bob = await sign_up(server.url, "Bob")
    async with bob:
        bob_user = await bob.get_me()
        workspace = await alice.create_workspace(name="  Team  ", description="ours", metadata={"a": 1})
        added = await alice.add_member(workspace.id, email=bob_user.email, role="viewer")
        promoted = await alice.change_member_role(workspace.id, bob_user.id, role="editor")
        members = await alice.list_members(workspace.id)
        seen_by_bob = await bob.get_workspace(workspace.id)
        updated = await alice.update_workspace(workspace.id, name="Renamed")
        await bob.remove_member(workspace.id, bob_user.id)
        with pytest.raises(NotFound):
            await bob.get_workspace(workspace.id)
        listed = await alice.list_workspaces(limit=1)
        await alice.delete_workspace(workspace.id)

        assert (workspace.name, workspace.role, workspace.metadata) == ("Team", "owner", {"a": 1})
        assert (added.role, promoted.role) == ("viewer", "editor")
        assert [member.user_id for member in members.items] == [bob_user.id, (await alice.get_me()).id]
        assert seen_by_bob.role == "editor"
        assert updated.name == "Renamed"
        assert [item.id for item in listed.items] == [workspace.id]
        assert await alice.list_workspaces() == type(listed)(items=[], next_cursor=None)


async def test_conversations_and_messages(alice: AsyncThreadline, place: Place) -> None:
    conversation_id = place.conversation.id
    voice = await alice.create_conversation(place.workspace.id, modality="voice")
    first = await alice.post_message(conversation_id, "Hello", metadata={"k": "v"})
    second = await alice.post_message(conversation_id, "Be brief.", role="system")
    edited = await alice.update_message(conversation_id, first.id, content="Hello!")
    await alice.delete_message(conversation_id, second.id)
    window = await alice.list_messages(conversation_id, after=0, limit=10)
    with_messages = await alice.get_conversation(conversation_id, include_messages=True)
    renamed = await alice.update_conversation(conversation_id, title="New title")
    voices = await alice.list_conversations(place.workspace.id, modality="voice")
    await alice.delete_conversation(voice.id)

    assert (first.seq, second.seq, second.role, first.status) == (1, 2, "system", "complete")
    assert (await alice.get_message(conversation_id, first.id)) == edited
    assert [message.content for message in window.items] == ["Hello!"]
    assert with_messages.messages == window.items
    assert (await alice.get_conversation(conversation_id)).messages is None
    assert renamed.title == "New title"
    assert [conversation.id for conversation in voices.items] == [voice.id]


async def test_operational_endpoints(alice: AsyncThreadline) -> None:
    assert (await alice.health()).status == "ok"
    assert (await alice.ready()).status == "ready"
    assert (await alice.get_event_stats()).connections >= 0


async def test_refusals_raise_the_exception_of_their_code_with_the_problem(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    email = (await alice.get_me()).email
    missing = uuid.uuid4()
    bob = await sign_up(server.url, "Bob")
    async with bob, AsyncThreadline(server.url, token="not a token") as stranger:
        await alice.add_member(place.workspace.id, email=(await bob.get_me()).email, role="viewer")
        with pytest.raises(NotFound) as not_found:
            await alice.get_conversation(missing)
        with pytest.raises(Conflict) as taken:
            await alice.register(email=email, password=PASSWORD)
        with pytest.raises(ValidationError) as invalid:
            await alice.create_workspace(name="")
        with pytest.raises(Unauthenticated):
            await stranger.get_me()
        with pytest.raises(Forbidden):
            await bob.post_message(place.conversation.id, "I only watch")

    assert (not_found.value.status, not_found.value.code) == (404, "not_found")
    assert not_found.value.request_id
    assert taken.value.detail
    assert [error.loc[-1] for error in invalid.value.errors] == ["name"]


def test_the_sync_client_answers_the_same_models(server: ServerProcess) -> None:
    email = f"sync-{uuid.uuid4().hex[:8]}@example.com"
    with Threadline(server.url) as client:
        client.register(email=email, password=PASSWORD, name="Sync")
        client.login(email=email, password=PASSWORD)
        workspace = client.create_workspace(name="Sync")
        conversation = client.create_conversation(workspace.id)
        message = client.post_message(conversation.id, "Hello from sync")
        with pytest.raises(NotFound):
            client.get_workspace(uuid.uuid4())

        assert isinstance(message, Message)
        assert client.list_messages(conversation.id).items == [message]


async def test_a_path_id_must_be_a_uuid(alice: AsyncThreadline) -> None:
    with pytest.raises(ValueError, match="badly formed"):
        await alice.get_workspace("../users/me")


async def test_a_network_failure_that_outlasts_the_retries_is_raised(alice: AsyncThreadline) -> None:
    quick = RetryPolicy(attempts=2, backoff=0.01)
    async with AsyncThreadline("http://127.0.0.1:9", token=alice.token, retry=quick) as nowhere:
        with pytest.raises(httpx.ConnectError):
            await nowhere.get_me()
