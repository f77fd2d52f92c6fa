"""Posting at most once: a post whose answer is lost (a timeout after the server acted) is sent again with
the same ``Idempotency-Key``, and the conversation holds the message once."""

from __future__ import annotations

import pytest

from tests.client.conftest import Place
from tests.client.support import Trouble, TroubledTransport, posts_to
from tests.support.server import ServerProcess
from threadline_client import AsyncThreadline, Threadline

pytestmark = pytest.mark.e2e


async def test_a_post_whose_answer_is_lost_is_stored_once(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    conversation_id = place.conversation.id
    transport = TroubledTransport(Trouble(posts_to("/messages"), lose_answer={1, 3}, never_arrive={2}))
    async with AsyncThreadline(server.url, token=alice.token, transport=transport) as flaky:
        first = await flaky.post_message(conversation_id, "Only once")
        second = await flaky.post_message(conversation_id, "Only once")

    stored = await alice.list_messages(conversation_id)
    keys = [request.headers["Idempotency-Key"] for request in transport.sent]
    assert [message.id for message in stored.items] == [first.id, second.id]
    assert len(keys) == 5
    assert len(set(keys[:4])) == 1, "the retries of one post reuse its key"
    assert keys[4] != keys[0], "another post is another key"


def test_the_sync_client_retries_with_the_same_key(server: ServerProcess, alice: AsyncThreadline) -> None:
    transport = TroubledTransport(Trouble(posts_to("/messages"), lose_answer={1}))
    with Threadline(server.url, token=alice.token, transport=transport) as flaky:
        workspace = flaky.create_workspace(name="Sync")
        conversation = flaky.create_conversation(workspace.id)
        message = flaky.post_message(conversation.id, "Only once")

        assert flaky.list_messages(conversation.id).items == [message]
    assert len({request.headers["Idempotency-Key"] for request in transport.sent}) == 1
    assert len(transport.sent) == 2
