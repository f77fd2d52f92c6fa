"""The client's search, streamed export and fork, against a real server."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.client.conftest import Place
from tests.support.server import ServerProcess
from threadline_client import AsyncThreadline, NotFound, SearchHit, Threadline


async def test_search_pages_through_hits(alice: AsyncThreadline, place: Place) -> None:
    for i in range(3):
        await alice.post_message(place.conversation.id, f"needle <{i}>")

    first = await alice.search("needle", limit=2)
    second = await alice.search("needle", limit=2, cursor=first.next_cursor)

    assert all(isinstance(hit, SearchHit) for hit in first.items)
    assert [hit.seq for hit in first.items + second.items] == [3, 2, 1]
    assert second.next_cursor is None
    assert first.items[0].snippet == "<mark>needle</mark> &lt;2&gt;"
    assert first.items[0].conversation.id == place.conversation.id
    assert (await alice.search("Talk", conversation_id=place.conversation.id)).items[0].kind == "conversation"


async def test_export_streams_the_conversation_and_fork_copies_it(
    alice: AsyncThreadline, place: Place
) -> None:
    for text in ("one", "two", "three"):
        await alice.post_message(place.conversation.id, text)

    pieces = [piece async for piece in alice.export(place.conversation.id, chunk_size=16)]
    document = json.loads(b"".join(pieces))
    assert len(pieces) > 1
    assert [m["content"] for m in document["messages"]] == ["one", "two", "three"]
    markdown = b"".join([piece async for piece in alice.export(place.conversation.id, format="markdown")])
    assert markdown.startswith(b"# Talk")

    fork = await alice.fork_conversation(place.conversation.id, through_seq=2, title="Branch")
    assert (fork.title, fork.message_count) == ("Branch", 2)
    assert fork.metadata["forked_from"] == {"conversation_id": str(place.conversation.id), "through_seq": 2}
    copies = await alice.list_messages(fork.id)
    assert [m.content for m in copies.items] == ["one", "two"]


async def test_a_refused_export_raises_before_any_piece(alice: AsyncThreadline) -> None:
    with pytest.raises(NotFound):
        async for _ in alice.export("00000000-0000-4000-8000-000000000000"):
            pass


async def test_the_sync_client_exports_too(
    server: ServerProcess, alice: AsyncThreadline, place: Place
) -> None:
    await alice.post_message(place.conversation.id, "hello")

    def export() -> bytes:
        with Threadline(server.url, token=alice.token) as client:
            return b"".join(client.export(place.conversation.id))

    document = json.loads(await asyncio.to_thread(export))
    assert [m["content"] for m in document["messages"]] == ["hello"]
