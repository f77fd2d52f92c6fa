"""``metadata`` reads back as it was sent, on SQLite and on PostgreSQL alike: its keys in the order sent
and its numbers as written, wherever it is read (answers, reads, lists, idempotent repeats, the event log).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, get_conversation
from tests.support.event_log import last_event_id, stored_events
from tests.support.teams import create_workspace

# What a database that keeps a document's value but not its spelling would change (PostgreSQL's JSONB
# sorts keys, reads -0.0 as 0 and 1e300 as an integer of 301 digits).
METADATA: dict[str, Any] = {
    "zeta": 1,
    "alpha": {
        "negative zero": -0.0,
        "huge": 1e300,
        "integral float": 1.0,
        "big integer": 12345678901234567890123,
        "tiny": 2.5e-100,
        "mixed": [3, "x", None, True, {"b": 1, "a": 2}],
    },
}
EDITED: dict[str, Any] = {"y": -0.0, "b": [1e20, 7.0]}


def spelling(metadata: Any) -> str:
    """The JSON text of a document: differs for reordered keys, ``-0.0`` against ``0.0``, ``1.0`` against
    ``1``, and ``1e300`` against its integer."""
    return json.dumps(metadata)


async def test_metadata_reads_back_as_sent_everywhere(app: FastAPI, alice: Account) -> None:
    start = await last_event_id(app)
    workspace = await create_workspace(alice, metadata=METADATA)
    conversation = await create_conversation(alice, workspace["id"], metadata=METADATA)
    messages_path = f"/v1/conversations/{conversation['id']}/messages"
    post = {"json": {"content": "Hi", "metadata": METADATA}, "headers": {"Idempotency-Key": "k"}}
    posted = await alice.post(messages_path, **post)
    repeated = await alice.post(messages_path, **post)
    assert posted.status_code == repeated.status_code == 201, repeated.text
    message_path = f"{messages_path}/{posted.json()['id']}"

    read_back = {
        "workspace as created": workspace["metadata"],
        "workspace read": (await alice.get(f"/v1/workspaces/{workspace['id']}")).json()["metadata"],
        "workspace listed": (await alice.get("/v1/workspaces")).json()["items"][0]["metadata"],
        "conversation as created": conversation["metadata"],
        "conversation read": (await get_conversation(alice, conversation["id"]))["metadata"],
        "message as posted": posted.json()["metadata"],
        "message repeated": repeated.json()["metadata"],
        "message read": (await alice.get(message_path)).json()["metadata"],
        "message listed": (await alice.get(messages_path)).json()["items"][0]["metadata"],
        "message with its conversation": (
            await alice.get(f"/v1/conversations/{conversation['id']}", params={"include": "messages"})
        ).json()["messages"][0]["metadata"],
        **{
            f"{event.type} event": event.data["metadata"]
            for event in await stored_events(app, after=start)
            if event.type in {"conversation.created", "message.created"}
        },
    }

    assert len(read_back) == 12
    for where, metadata in read_back.items():
        assert spelling(metadata) == spelling(METADATA), where


async def test_edited_metadata_reads_back_as_sent(app: FastAPI, alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    posted = await alice.post(f"/v1/conversations/{conversation['id']}/messages", json={"content": "Hi"})
    message_path = f"/v1/conversations/{conversation['id']}/messages/{posted.json()['id']}"

    start = await last_event_id(app)
    edit = {"json": {"metadata": EDITED}}
    edits = {
        "workspace": await alice.patch(f"/v1/workspaces/{workspace['id']}", **edit),
        "conversation": await alice.patch(f"/v1/conversations/{conversation['id']}", **edit),
        "message": await alice.patch(message_path, **edit),
    }
    reads = {
        "workspace": await alice.get(f"/v1/workspaces/{workspace['id']}"),
        "conversation": await alice.get(f"/v1/conversations/{conversation['id']}"),
        "message": await alice.get(message_path),
    }

    events = {event.type: event.data for event in await stored_events(app, after=start)}

    for kind in edits:
        assert edits[kind].status_code == reads[kind].status_code == 200, (kind, edits[kind].text)
        assert spelling(edits[kind].json()["metadata"]) == spelling(EDITED), kind
        assert spelling(reads[kind].json()["metadata"]) == spelling(EDITED), kind
        assert spelling(events[f"{kind}.updated"]["metadata"]) == spelling(EDITED), kind
