"""Streaming replies made through the API: start one, send it deltas, rebuild it from events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from tests.support.accounts import Account


def reply_path(conversation_id: object, message_id: object) -> str:
    return f"/v1/conversations/{conversation_id}/messages/{message_id}"


async def start_reply(account: Account, conversation_id: object, content: str = "") -> dict[str, Any]:
    response = await account.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": content, "role": "assistant", "status": "streaming"},
    )
    assert response.status_code == 201, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def send_delta(account: Account, reply: dict[str, Any], offset: int, text: str) -> httpx.Response:
    return await account.post(
        f"{reply_path(reply['conversation_id'], reply['id'])}/deltas", json={"offset": offset, "text": text}
    )


async def stream_text(account: Account, reply: dict[str, Any], pieces: Iterable[str], start: int = 0) -> int:
    """Send ``pieces`` one delta each, in order, from ``start``; the stored length after the last."""
    length = start
    for piece in pieces:
        response = await send_delta(account, reply, length, piece)
        assert response.status_code == 200, response.text
        length = response.json()["length"]
    return length


async def finish(account: Account, reply: dict[str, Any], **body: object) -> httpx.Response:
    return await account.post(f"{reply_path(reply['conversation_id'], reply['id'])}/finish", json=body)


async def cancel(account: Account, reply: dict[str, Any]) -> httpx.Response:
    return await account.post(f"{reply_path(reply['conversation_id'], reply['id'])}/cancel")


def rebuild(events: Iterable[dict[str, Any]], message_id: str, shown: str = "") -> str:
    """What a client shows of the message after applying ``events`` by the rule of docs/streaming.md."""
    for event in events:
        data = event["data"]
        if event["type"] in {"message.created", "message.updated"} and data["id"] == message_id:
            shown = data["content"]
        elif event["type"] == "message.delta" and data["message_id"] == message_id:
            assert data["offset"] <= len(shown), f"a gap before offset {data['offset']}"
            shown = shown[: data["offset"]] + data["text"]
    return shown
