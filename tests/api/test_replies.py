"""Streaming replies through the API (docs/streaming.md): deltas, their retries and refusals, finishing,
cancelling, the idle timeout, and the events a client rebuilds the text from. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import stored_events
from tests.support.replies import cancel, finish, rebuild, reply_path, send_delta, start_reply, stream_text
from tests.support.server import serving
from tests.support.teams import Team, make_team
from tests.support.waiting import eventually
from threadline.app import create_app
from threadline.settings import Settings


@pytest.fixture
async def team(app: FastAPI, client: httpx.AsyncClient) -> Team:
    return await make_team(client, app)


@pytest.fixture
async def conversation(team: Team) -> dict[str, Any]:
    return await create_conversation(team.editor, team.workspace_id, title="Chat")


async def read_message(account: Account, reply: dict[str, Any]) -> dict[str, Any]:
    response = await account.get(reply_path(reply["conversation_id"], reply["id"]))
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()
    return message


def pieces_of(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


async def test_a_reply_streamed_in_500_deltas_reads_back_exactly(
    app: FastAPI, team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    assert reply["status"] == "streaming"
    assert reply["content"] == ""
    text = "".join(f"tök{n}é " for n in range(500))  # not ASCII: offsets count characters, not bytes
    pieces = pieces_of(text, len(text) // 500 + 1)
    assert len(pieces) >= 450

    length = await stream_text(team.editor, reply, pieces)

    assert length == len(text)
    streaming = await read_message(team.viewer, reply)
    assert (streaming["status"], streaming["content"]) == ("streaming", text)
    page = await team.viewer.get(f"/v1/conversations/{conversation['id']}/messages")
    assert [item["content"] for item in page.json()["items"]] == [text]
    finished = await finish(team.editor, reply)
    assert finished.status_code == 200, finished.text
    assert (finished.json()["status"], finished.json()["content"]) == ("complete", text)
    assert (await read_message(team.viewer, reply))["content"] == text
    events = [event.model_dump(mode="json") for event in await stored_events(app)]
    assert rebuild(events, reply["id"]) == text
    assert [event["type"] for event in events if event["type"] != "message.delta"][-2:] == [
        "message.created",
        "message.updated",
    ]


async def test_a_reply_keeps_the_seq_it_started_with(team: Team, conversation: dict[str, Any]) -> None:
    reply = await start_reply(team.editor, conversation["id"], content="Thinking")
    later = await post_message(team.owner, conversation["id"], "meanwhile")
    await stream_text(team.editor, reply, [" hard"], start=len("Thinking"))
    ended = (await finish(team.editor, reply)).json()
    assert (reply["seq"], later["seq"]) == (1, 2)
    assert (ended["seq"], ended["content"]) == (1, "Thinking hard")


async def test_concurrent_retries_of_one_delta_apply_it_once(
    app: FastAPI, team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    await stream_text(team.editor, reply, ["Hello"])

    answers = await asyncio.gather(*(send_delta(team.editor, reply, 5, ", world") for _ in range(10)))

    assert [(answer.status_code, answer.json()) for answer in answers] == [(200, {"length": 12})] * 10
    assert (await read_message(team.editor, reply))["content"] == "Hello, world"
    deltas = [event for event in await stored_events(app) if event.type == "message.delta"]
    assert [(event.data["offset"], event.data["text"]) for event in deltas] == [(0, "Hello"), (5, ", world")]


async def test_a_repeat_of_an_earlier_delta_answers_the_current_length(
    team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    await stream_text(team.editor, reply, ["one ", "two ", "three"])
    repeat = await send_delta(team.editor, reply, 4, "two ")
    assert (repeat.status_code, repeat.json()) == (200, {"length": 13})
    assert (await read_message(team.editor, reply))["content"] == "one two three"


@pytest.mark.parametrize(("offset", "text"), [(3, "x"), (6, "x"), (0, "abX"), (2, "c!")])
async def test_a_delta_elsewhere_than_the_stored_length_is_409_with_the_length(
    team: Team, conversation: dict[str, Any], offset: int, text: str
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    await stream_text(team.editor, reply, ["abcde"])
    refused = await send_delta(team.editor, reply, offset, text)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["code"], problem["status"], problem["length"], problem["message_status"]) == (
        "conflict",
        409,
        5,
        "streaming",
    )
    assert (await read_message(team.editor, reply))["content"] == "abcde"


@pytest.mark.parametrize("action", ["delta", "finish", "cancel"])
async def test_a_viewer_is_forbidden_and_a_stranger_finds_nothing(
    team: Team, conversation: dict[str, Any], action: str
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    act: dict[str, Callable[[Account], Any]] = {
        "delta": lambda account: send_delta(account, reply, 0, "x"),
        "finish": lambda account: finish(account, reply),
        "cancel": lambda account: cancel(account, reply),
    }
    assert (await act[action](team.viewer)).status_code == 403
    stranger = await act[action](team.stranger)
    assert (stranger.status_code, stranger.json()["code"]) == (404, "not_found")
    assert (await read_message(team.editor, reply))["status"] == "streaming"


async def test_only_its_author_appends_or_finishes_but_the_owner_may_cancel(
    team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    assert (await send_delta(team.owner, reply, 0, "x")).status_code == 403
    assert (await finish(team.owner, reply)).status_code == 403
    cancelled = await cancel(team.owner, reply)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")


async def test_a_delta_after_cancel_is_409_naming_the_status(
    app: FastAPI, team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    await stream_text(team.editor, reply, ["partial"])
    cancelled = await cancel(team.owner, reply)
    assert cancelled.json()["content"] == "partial"

    late = await send_delta(team.editor, reply, 7, " more")

    assert late.status_code == 409
    assert (late.json()["code"], late.json()["message_status"], late.json()["length"]) == (
        "conflict",
        "cancelled",
        7,
    )
    again = await cancel(team.editor, reply)
    assert (again.status_code, again.json()["status"]) == (200, "cancelled")
    assert (await finish(team.editor, reply)).status_code == 409
    updates = [event for event in await stored_events(app) if event.type == "message.updated"]
    assert [event.data["status"] for event in updates] == ["cancelled"]


async def test_finish_replaces_the_text_when_given_and_a_repeat_changes_nothing(
    app: FastAPI, team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    await stream_text(team.editor, reply, ["**draft**"])
    ended = await finish(team.editor, reply, content="Final text", metadata={"tokens": 3})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["content"], ended.json()["metadata"]) == ("Final text", {"tokens": 3})
    repeat = await finish(team.editor, reply, content="Final text")
    assert (repeat.status_code, repeat.json()) == (200, ended.json())
    assert (await finish(team.editor, reply, status="failed")).status_code == 409
    assert (await cancel(team.editor, reply)).status_code == 409
    updates = [event for event in await stored_events(app) if event.type == "message.updated"]
    assert len(updates) == 1


async def test_a_failed_reply_keeps_its_text_and_reason(team: Team, conversation: dict[str, Any]) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    await stream_text(team.editor, reply, ["Half an ans"])
    failed = await finish(team.editor, reply, status="failed", metadata={"error": "model timed out"})
    assert failed.json()["status"] == "failed"
    assert failed.json()["content"] == "Half an ans"
    assert failed.json()["metadata"] == {"error": "model timed out"}


async def test_a_streaming_reply_changes_by_deltas_not_edits(
    team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    path = reply_path(conversation["id"], reply["id"])
    edit = await team.editor.patch(path, json={"content": "replaced"})
    assert (edit.status_code, edit.json()["message_status"]) == (409, "streaming")
    tagged = await team.editor.patch(path, json={"metadata": {"model": "m"}})
    assert (tagged.status_code, tagged.json()["metadata"], tagged.json()["status"]) == (
        200,
        {"model": "m"},
        "streaming",
    )


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"offset": 0, "text": ""}, ["body", "text"]),
        ({"offset": 0, "text": "nul\u0000"}, ["body", "text"]),
        ({"offset": -1, "text": "x"}, ["body", "offset"]),
        ({"offset": "0", "text": "x", "extra": 1}, ["body", "extra"]),
        ({"text": "x"}, ["body", "offset"]),
    ],
)
async def test_bad_deltas_are_422(
    team: Team, conversation: dict[str, Any], body: dict[str, Any], loc: list[str]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    answer = await team.editor.post(f"{reply_path(conversation['id'], reply['id'])}/deltas", json=body)
    assert answer.status_code == 422, answer.text
    assert loc in [error["loc"] for error in answer.json()["errors"]]


async def test_a_reply_holds_at_most_100000_characters(team: Team, conversation: dict[str, Any]) -> None:
    reply = await start_reply(team.editor, conversation["id"], content="x" * 99_990)
    assert (await send_delta(team.editor, reply, 99_990, "y" * 10)).json() == {"length": 100_000}
    over = await send_delta(team.editor, reply, 100_000, "z")
    assert (over.status_code, over.json()["errors"][0]["loc"]) == (422, ["body", "text"])
    assert len((await read_message(team.editor, reply))["content"]) == 100_000


async def test_only_a_streaming_message_may_be_empty(team: Team, conversation: dict[str, Any]) -> None:
    path = f"/v1/conversations/{conversation['id']}/messages"
    empty = await team.editor.post(path, json={"content": ""})
    assert (empty.status_code, empty.json()["errors"][0]["loc"]) == (422, ["body", "content"])
    posted_as = await team.editor.post(path, json={"content": "x", "status": "cancelled"})
    assert posted_as.status_code == 422
    whole = await post_message(team.editor, conversation["id"], "whole")
    assert whole["status"] == "complete"
    appended = await send_delta(team.editor, whole, 5, "!")
    assert (appended.status_code, appended.json()["message_status"]) == (409, "complete")


async def test_deltas_streamed_over_one_request_apply_as_they_arrive(
    app: FastAPI, team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    lines_sent = [{"offset": n * 3, "text": f"{n:02d} "} for n in range(40)]

    async def upload() -> Any:
        for line in lines_sent:
            yield (json.dumps(line) + "\n").encode()

    answer = await team.editor.post(
        f"{reply_path(conversation['id'], reply['id'])}/deltas",
        content=upload(),
        headers={"Content-Type": "application/x-ndjson"},
    )

    assert (answer.status_code, answer.json()) == (200, {"length": 120})
    expected = "".join(line["text"] for line in lines_sent)
    assert (await read_message(team.editor, reply))["content"] == expected
    events = [event.model_dump(mode="json") for event in await stored_events(app)]
    assert rebuild(events, reply["id"]) == expected


async def test_an_upload_stops_at_its_first_refused_line_and_keeps_the_lines_before(
    team: Team, conversation: dict[str, Any]
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    body = "\n".join(
        json.dumps(line)
        for line in ({"offset": 0, "text": "ab"}, {"offset": 2, "text": "cd"}, {"offset": 9, "text": "!"})
    )
    answer = await team.editor.post(
        f"{reply_path(conversation['id'], reply['id'])}/deltas",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert (answer.status_code, answer.json()["length"]) == (409, 4)
    malformed = await team.editor.post(
        f"{reply_path(conversation['id'], reply['id'])}/deltas",
        content='{"offset": 4, "text": "e"}\n{"offset": 5}\n',
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert (malformed.status_code, malformed.json()["errors"][0]["loc"]) == (422, ["body", 1, "text"])
    assert (await read_message(team.editor, reply))["content"] == "abcde"
    empty = await team.editor.post(
        f"{reply_path(conversation['id'], reply['id'])}/deltas",
        content="\n",
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert empty.status_code == 422


async def test_deleting_a_streaming_reply_ends_it(team: Team, conversation: dict[str, Any]) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    await stream_text(team.editor, reply, ["gone soon"])
    assert (await team.editor.delete(reply_path(conversation["id"], reply["id"]))).status_code == 204
    assert (await send_delta(team.editor, reply, 9, "!")).status_code == 404
    assert (await finish(team.editor, reply)).status_code == 404


async def test_an_abandoned_reply_fails_after_the_idle_timeout(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(stream_idle_timeout_seconds=0.5))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        team = await make_team(client, app)
        conversation = await create_conversation(team.editor, team.workspace_id)
        reply = await start_reply(team.editor, conversation["id"])
        await stream_text(team.editor, reply, ["I was saying"])

        async def failed() -> bool:
            return (await read_message(team.viewer, reply))["status"] == "failed"

        await eventually(failed, within=10)
        message = await read_message(team.viewer, reply)
        assert (message["content"], message["metadata"]) == ("I was saying", {"error": "idle_timeout"})
        updates = [event for event in await stored_events(app) if event.type == "message.updated"]
        assert [(event.data["status"], event.actor_id) for event in updates] == [("failed", None)]
        late = await send_delta(team.editor, reply, 12, "...")
        assert (late.status_code, late.json()["message_status"]) == (409, "failed")


async def test_a_dropped_upload_keeps_the_lines_that_arrived(
    app: FastAPI, team: Team, conversation: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    reply = await start_reply(team.editor, conversation["id"])
    lines_sent = [{"offset": 0, "text": "ab"}, {"offset": 2, "text": "cd"}]
    async with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        head = (
            f"POST {reply_path(conversation['id'], reply['id'])}/deltas HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {team.editor.token}\r\nContent-Type: application/x-ndjson\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        writer.write(head.encode())
        for line in lines_sent:
            chunk = (json.dumps(line) + "\n").encode()
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

        async def both_applied() -> bool:
            return (await read_message(team.editor, reply))["content"] == "abcd"

        await eventually(both_applied, within=10)
        writer.close()  # mid-upload: no last chunk
        await writer.wait_closed()
        resumed = await send_delta(team.editor, reply, 4, "e")
    assert (resumed.status_code, resumed.json()) == (200, {"length": 5})
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
