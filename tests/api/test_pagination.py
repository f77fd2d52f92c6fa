"""Cursor pagination (API.md §1) of workspaces and members: every item exactly once, bad input a 422."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account, sign_up
from tests.support.event_log import unit_of_work
from tests.support.teams import add_member, create_workspace
from threadline.models.domain.workspace import Role


async def _walk(caller: Account, path: str, *, limit: int | None = None) -> list[list[dict[str, object]]]:
    """Every page of a list, following ``next_cursor`` until it is null."""
    pages: list[list[dict[str, object]]] = []
    params: dict[str, object] = {} if limit is None else {"limit": limit}
    while True:
        response = await caller.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page["items"])
        if page["next_cursor"] is None:
            return pages
        params["cursor"] = page["next_cursor"]


@pytest.mark.parametrize(
    ("count", "limit", "sizes"),
    [
        (0, None, [0]),
        (1, None, [1]),
        (50, None, [50]),
        (51, None, [50, 1]),
        (51, 7, [7] * 7 + [2]),
        (14, 7, [7, 7]),
        (3, 200, [3]),
        (3, 1, [1, 1, 1]),
    ],
)
async def test_workspace_pages_hold_every_workspace_once_newest_first(
    alice: Account, bob: Account, count: int, limit: int | None, sizes: list[int]
) -> None:
    created = [(await create_workspace(alice, f"W{number}"))["id"] for number in range(count)]
    await create_workspace(bob, "Not Alice's")

    pages = await _walk(alice, "/v1/workspaces", limit=limit)

    assert [len(page) for page in pages] == sizes
    assert [item["id"] for page in pages for item in page] == created[::-1]


async def test_workspaces_created_in_the_same_instant_are_each_listed_once(
    app: FastAPI, alice: Account
) -> None:
    instant = datetime(2026, 11, 26, 14, 3, 5, 123456, tzinfo=UTC)
    async with unit_of_work(app) as uow:
        owner = await uow.users.get(UUID(alice.id))
        assert owner is not None
        created = [
            await uow.workspaces.add(
                name=f"Tie {number}", description="", metadata={}, owner_id=owner.id, now=instant
            )
            for number in range(9)
        ]
        for workspace in created:
            await uow.members.add(workspace.id, owner, role=Role.OWNER, now=instant)
        await uow.commit()

    pages = await _walk(alice, "/v1/workspaces", limit=2)

    assert [len(page) for page in pages] == [2, 2, 2, 2, 1]
    listed = [item["id"] for page in pages for item in page]
    assert listed == sorted((str(workspace.id) for workspace in created), key=UUID, reverse=True)


async def test_a_page_reflects_workspaces_added_and_removed_since_the_last(alice: Account) -> None:
    """A keyset cursor marks a position, not an offset: changes elsewhere neither repeat nor skip items."""
    oldest, middle, newest = [(await create_workspace(alice, name))["id"] for name in ("A", "B", "C")]
    first = (await alice.get("/v1/workspaces", params={"limit": 1})).json()
    await create_workspace(alice, "D")
    await alice.delete(f"/v1/workspaces/{newest}")

    rest = (await alice.get("/v1/workspaces", params={"limit": 5, "cursor": first["next_cursor"]})).json()

    assert [item["id"] for item in first["items"]] == [newest]
    assert [item["id"] for item in rest["items"]] == [middle, oldest]


async def test_member_pages_hold_every_member_once(client: httpx.AsyncClient, alice: Account) -> None:
    workspace = await create_workspace(alice)
    members = [await sign_up(client) for _ in range(6)]
    for member in members:
        await add_member(alice, workspace["id"], member, "viewer")

    pages = await _walk(members[0], f"/v1/workspaces/{workspace['id']}/members", limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    listed = [item["user_id"] for page in pages for item in page]
    assert listed == [member.id for member in reversed(members)] + [alice.id]


LISTS = ["/v1/workspaces", "/v1/workspaces/{workspace_id}/members"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["0", "201", "-1", "1.5", "ten", "", "5.0", "+5", " 5", "\u0665"])
async def test_a_limit_outside_1_to_200_is_a_validation_error(alice: Account, path: str, limit: str) -> None:
    workspace = await create_workspace(alice)

    response = await alice.get(path.format(workspace_id=workspace["id"]), params={"limit": limit})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


MALFORMED_CURSORS = {
    "random text": "not a cursor",
    "base64 of garbage": base64.urlsafe_b64encode(b"\x00\xffgarbage\x80").decode(),
    "base64 of a json list": _token(["2026-11-26T14:03:05Z", str(uuid4())]),
    "a naive datetime": _token({"at": "2026-11-26T14:03:05", "id": str(uuid4())}),
    "a time past the end of the calendar in utc": _token(
        {"at": "9999-12-31T23:59:00-01:00", "id": str(uuid4())}
    ),
    "not a uuid": _token({"at": "2026-11-26T14:03:05Z", "id": "42"}),
    "very long": "QUFB" * 5000,
}


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("cursor", MALFORMED_CURSORS.values(), ids=MALFORMED_CURSORS.keys())
async def test_a_malformed_cursor_is_a_validation_error(alice: Account, path: str, cursor: str) -> None:
    workspace = await create_workspace(alice)

    response = await alice.get(path.format(workspace_id=workspace["id"]), params={"cursor": cursor})

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_cursor_of_another_list_is_a_validation_error(alice: Account, bob: Account) -> None:
    workspace = await create_workspace(alice)
    await create_workspace(alice, "second")
    await add_member(alice, workspace["id"], bob, "viewer")
    workspaces_cursor = (await alice.get("/v1/workspaces", params={"limit": 1})).json()["next_cursor"]
    members_cursor = (
        await alice.get(f"/v1/workspaces/{workspace['id']}/members", params={"limit": 1})
    ).json()["next_cursor"]

    in_members = await alice.get(
        f"/v1/workspaces/{workspace['id']}/members", params={"cursor": workspaces_cursor}
    )
    in_workspaces = await alice.get("/v1/workspaces", params={"cursor": members_cursor})

    for response in (in_members, in_workspaces):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
