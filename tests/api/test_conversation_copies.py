"""Export (the whole conversation, streamed in seq order, in bounded memory) and fork (copies of 1..S)."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import last_event_id, stored_events, unit_of_work
from tests.support.problems import assert_problem
from tests.support.teams import Team, create_workspace, make_team
from threadline.models.domain.conversation import MessageRole, NewMessage
from threadline.services.message_batches import store_messages


async def seed_messages(app: FastAPI, conversation_id: str, author: str, count: int) -> None:
    """``count`` messages appended straight through the repositories, in one transaction."""
    posts = [
        NewMessage(
            conversation_id=UUID(conversation_id),
            role=MessageRole.USER if i % 2 else MessageRole.ASSISTANT,
            content=f"message {i + 1} " + "lorem ipsum dolor sit amet " * 8,
            metadata={"i": i + 1},
            author_id=UUID(author),
        )
        for i in range(count)
    ]
    async with unit_of_work(app) as uow:
        await store_messages(uow, posts)
        await uow.commit()


async def export_through_asgi(
    app: FastAPI, account: Account, path: str
) -> tuple[int, dict[str, str], int, int]:
    """Drive the app as a server would, keeping no body: status, headers, bytes sent and the peak of memory
    Python allocated meanwhile. (httpx's ASGI transport would hold the whole body itself.)"""
    sent = 0
    status = 0
    headers: dict[str, str] = {}
    requested = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent, status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update({k.decode(): v.decode() for k, v in message["headers"]})
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            sent += len(body)
            if not message.get("more_body", False):
                done.set()

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"authorization", f"Bearer {account.token}".encode()), (b"host", b"testserver")],
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80),
    }
    tracemalloc.start()
    try:
        await app(scope, receive, send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return status, headers, sent, peak


async def test_a_20000_message_export_is_complete_in_order_and_in_bounded_memory(
    app: FastAPI, alice: Account
) -> None:
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"], title="Big one!")
    await seed_messages(app, conversation["id"], alice.id, 20_000)
    path = f"/v1/conversations/{conversation['id']}/export"
    # A tenth of the size first, which also warms up what the first request of its kind caches
    # (compiled statements, serialisers): that is not what the export holds.
    small = await create_conversation(alice, conversation["workspace_id"])
    await seed_messages(app, small["id"], alice.id, 2_000)
    *_, small_peak = await export_through_asgi(app, alice, f"/v1/conversations/{small['id']}/export")
    *_, small_peak = await export_through_asgi(app, alice, f"/v1/conversations/{small['id']}/export")

    status, headers, size, peak = await export_through_asgi(app, alice, path)

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["content-disposition"] == f'attachment; filename="big-one-{conversation["id"]}.json"'
    assert size > 8_000_000
    # One page of 500 at a time, not the conversation: ten times the messages, about the same memory.
    assert peak < size / 3, (peak, size)
    assert peak < 1.5 * small_peak, (peak, small_peak)

    # And what it streams is the whole conversation, in order (read whole here, by the test).
    response = await alice.get(path)
    document = response.json()
    assert document["conversation"]["id"] == conversation["id"]
    assert [message["seq"] for message in document["messages"]] == list(range(1, 20_001))
    assert document["messages"][-1]["metadata"] == {"i": 20_000}


async def test_markdown_export_is_readable(alice: Account) -> None:
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"], title="Notes")
    await post_message(alice, conversation["id"], "First *point*")
    await post_message(alice, conversation["id"], "Second", role="assistant")

    response = await alice.get(
        f"/v1/conversations/{conversation['id']}/export", params={"format": "markdown"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"].endswith(f'notes-{conversation["id"]}.md"')
    text = response.text
    assert text.startswith("# Notes\n")
    assert text.index("**user** · #1") < text.index("First *point*") < text.index("**assistant** · #2")


async def test_export_skips_deleted_messages_and_answers_strangers_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    team = await make_team(client, app)
    conversation = await create_conversation(team.owner, team.workspace_id)
    kept = await post_message(team.owner, conversation["id"], "kept")
    gone = await post_message(team.owner, conversation["id"], "gone")
    await team.owner.delete(f"/v1/conversations/{conversation['id']}/messages/{gone['id']}")
    path = f"/v1/conversations/{conversation['id']}/export"

    viewed = await team.viewer.get(path)
    assert [message["id"] for message in viewed.json()["messages"]] == [kept["id"]]
    assert_problem(await team.stranger.get(path), 404, "not_found")
    assert_problem(await team.viewer.get(path, params={"format": "pdf"}), 422, "validation_error")


async def _source(team: Team) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    conversation = await create_conversation(team.owner, team.workspace_id, title="Source", metadata={"k": 1})
    messages = [
        await post_message(team.owner, conversation["id"], "one", metadata={"n": 1}),
        await post_message(team.editor, conversation["id"], "two", role="assistant"),
        await post_message(team.owner, conversation["id"], "three"),
        await post_message(team.editor, conversation["id"], "four", role="tool", metadata={"n": 4}),
        await post_message(team.owner, conversation["id"], "five"),
    ]
    # A gap: seq 2 is deleted, so 1..4 holds three messages.
    await team.owner.delete(f"/v1/conversations/{conversation['id']}/messages/{messages[1]['id']}")
    return conversation, messages


async def test_fork_copies_exactly_1_to_s_renumbered_and_leaves_the_source_alone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    team = await make_team(client, app)
    source, messages = await _source(team)
    before = await last_event_id(app)

    response = await team.editor.post(f"/v1/conversations/{source['id']}/fork", json={"through_seq": 4})

    assert response.status_code == 201, response.text
    fork = response.json()
    assert fork["workspace_id"] == team.workspace_id
    assert fork["title"] == "Source"
    assert fork["metadata"] == {"k": 1, "forked_from": {"conversation_id": source["id"], "through_seq": 4}}
    assert fork["message_count"] == 3
    copies = (await team.viewer.get(f"/v1/conversations/{fork['id']}/messages")).json()["items"]
    expected = [messages[0], messages[2], messages[3]]
    assert [message["seq"] for message in copies] == [1, 2, 3]
    for copy, original in zip(copies, expected, strict=True):
        for field in ("content", "role", "metadata", "author_id", "status"):
            assert copy[field] == original[field]
        assert copy["id"] != original["id"]
    untouched = (await team.viewer.get(f"/v1/conversations/{source['id']}/messages")).json()["items"]
    assert [message["seq"] for message in untouched] == [1, 3, 4, 5]

    events = await stored_events(app, after=before)
    assert [event.type.value for event in events] == ["conversation.created"] + ["message.created"] * 3
    assert [event.data["seq"] for event in events[1:]] == [1, 2, 3]
    assert {event.conversation_id for event in events} == {UUID(fork["id"])}
    # The copies are found by search, in the fork.
    hits = (await team.viewer.get("/v1/search", params={"q": "four", "conversation_id": fork["id"]})).json()
    assert [hit["seq"] for hit in hits["items"]] == [3]


async def test_fork_with_a_title_and_its_refusals(app: FastAPI, client: httpx.AsyncClient) -> None:
    team = await make_team(client, app)
    source, _ = await _source(team)
    path = f"/v1/conversations/{source['id']}/fork"

    titled = await team.owner.post(path, json={"through_seq": 1, "title": "  Branch  "})
    assert titled.status_code == 201
    assert (titled.json()["title"], titled.json()["message_count"]) == ("Branch", 1)

    assert_problem(await team.viewer.post(path, json={"through_seq": 1}), 403, "forbidden")
    assert_problem(await team.stranger.post(path, json={"through_seq": 1}), 404, "not_found")
    for body in (
        {"through_seq": 6},
        {"through_seq": 0},
        {"through_seq": "1"},
        {"through_seq": 1, "x": 1},
        {},
    ):
        assert_problem(await team.owner.post(path, json=body), 422, "validation_error")


async def test_fork_through_a_streaming_reply_is_409(alice: Account) -> None:
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
    await post_message(alice, conversation["id"], "question")
    await post_message(alice, conversation["id"], "", role="assistant", status="streaming")
    path = f"/v1/conversations/{conversation['id']}/fork"

    assert_problem(await alice.post(path, json={"through_seq": 2}), 409, "conflict")
    assert (await alice.post(path, json={"through_seq": 1})).status_code == 201


@pytest.mark.parametrize("format", ["json", "markdown"])
async def test_an_empty_conversation_exports(alice: Account, format: str) -> None:
    conversation = await create_conversation(alice, (await create_workspace(alice))["id"])
    response = await alice.get(f"/v1/conversations/{conversation['id']}/export", params={"format": format})
    assert response.status_code == 200
    if format == "json":
        assert json.loads(response.text)["messages"] == []
