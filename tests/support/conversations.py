"""Conversations and messages made through the API, for tests that need some to work on."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import Account


async def create_conversation(account: Account, workspace_id: object, **fields: object) -> dict[str, Any]:
    response = await account.post(f"/v1/workspaces/{workspace_id}/conversations", json=fields)
    assert response.status_code == 201, response.text
    conversation: dict[str, Any] = response.json()
    return conversation


async def post_message(
    account: Account, conversation_id: object, content: str = "Hello", **fields: object
) -> dict[str, Any]:
    response = await account.post(
        f"/v1/conversations/{conversation_id}/messages", json={"content": content, **fields}
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


async def get_conversation(account: Account, conversation_id: object) -> dict[str, Any]:
    response = await account.get(f"/v1/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    conversation: dict[str, Any] = response.json()
    return conversation
