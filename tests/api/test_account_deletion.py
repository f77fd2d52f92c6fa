"""Deleting one's own account (``DELETE /v1/users/me``): nothing of the account stays, its workspaces go
with it, its messages elsewhere stay without an author, and members hear of every change."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.problems import assert_problem
from tests.support.seed import seed_workspace
from tests.support.server import streaming_client
from tests.support.sse import open_stream
from tests.support.teams import add_member, create_workspace
from threadline.database.engine import Database

# Every column that can name a user, table by table.
USER_COLUMNS = {
    "users": "id",
    "api_keys": "user_id",
    "sign_ins": "user_id",
    "memberships": "user_id",
    "workspaces": "owner_id",
    "idempotency_keys": "user_id",
    "messages": "author_id",
}


async def rows_naming(database: Database, user_id: str) -> dict[str, int]:
    """How many rows of each table name the user (UUIDs are stored as text on SQLite, natively on
    PostgreSQL: compared as text on both)."""
    counts = {}
    async with database.session() as session:
        for table, column in USER_COLUMNS.items():
            query = text(f"SELECT count(*) FROM {table} WHERE replace(CAST({column} AS TEXT), '-', '') = :id")
            counts[table] = (await session.execute(query, {"id": user_id.replace("-", "")})).scalar_one()
    return counts


async def delete_account(account: Account, password: str | None = None) -> httpx.Response:
    body = {"current_password": account.password if password is None else password}
    return await account.request("DELETE", "/v1/users/me", json=body)


async def test_no_row_of_a_deleted_account_remains_and_its_messages_elsewhere_stay_authorless(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    # Read through the app's own engine: on SQLite another engine would wait for the app's write lock.
    database: Database = app.state.resources.database
    own = await create_workspace(alice, "Alice's")
    own_conversation = await create_conversation(alice, own["id"])
    await post_message(alice, own_conversation["id"], "mine")
    await add_member(alice, own["id"], bob, "editor")
    bobs = await create_workspace(bob, "Bob's")
    await add_member(bob, bobs["id"], alice, "editor")
    shared = await create_conversation(bob, bobs["id"])
    posted = await alice.post(
        f"/v1/conversations/{shared['id']}/messages",
        json={"content": "stays"},
        headers={"Idempotency-Key": "1"},
    )
    written = posted.json()
    await alice.post("/v1/auth/api-keys", json={"name": "ci"})

    assert (await delete_account(alice)).status_code == 204

    assert await rows_naming(database, alice.id) == dict.fromkeys(USER_COLUMNS, 0)
    kept = await bob.get(f"/v1/conversations/{shared['id']}/messages/{written['id']}")
    assert (kept.json()["content"], kept.json()["author_id"]) == ("stays", None)
    assert_problem(await bob.get(f"/v1/workspaces/{own['id']}"), 404, "not_found")
    assert_problem(await bob.get(f"/v1/conversations/{own_conversation['id']}"), 404, "not_found")
    members = (await bob.get(f"/v1/workspaces/{bobs['id']}/members")).json()["items"]
    assert [member["user_id"] for member in members] == [bob.id]
    assert_problem(await alice.get("/v1/users/me"), 401, "unauthenticated")
    login = await alice.client.post("/v1/auth/login", json={"email": alice.email, "password": alice.password})
    assert_problem(login, 401, "unauthenticated")


async def test_a_members_stream_hears_every_change_the_deletion_makes(
    app: FastAPI, alice: Account, bob: Account
) -> None:
    own = (await seed_workspace(app, alice, [(bob, "viewer")], name="Alice's")).workspace
    bobs = (await seed_workspace(app, bob, [(alice, "editor")], name="Bob's")).workspace
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=bob.headers) as bobs_stream,
        open_stream(http, "/v1/events", headers=alice.headers) as alices_stream,
    ):
        assert (await delete_account(alice)).status_code == 204
        heard = [await bobs_stream.next() for _ in range(3)]
        alices_ending = await alices_stream.rest()

    # After ``workspace.deleted`` Bob hears nothing more of that workspace but his own removal. (The
    # workspaces are dealt with in id order, so either may come first.)
    said = [
        (event.event, event.json()["workspace_id"], event.json()["data"].get("user_id")) for event in heard
    ]
    assert sorted(said) == sorted(
        [
            ("workspace.deleted", own["id"], None),
            ("member.removed", own["id"], bob.id),
            ("member.removed", bobs["id"], alice.id),
        ]
    )
    assert said.index(("workspace.deleted", own["id"], None)) < said.index(
        ("member.removed", own["id"], bob.id)
    )
    assert all(event.json()["actor_id"] == alice.id for event in heard)
    assert alices_ending[-1].event == "revoked"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"current_password": "not the password"}, ["body", "current_password"]),
        ({}, ["body", "current_password"]),
        ({"current_password": "x", "extra": 1}, ["body", "extra"]),
    ],
)
async def test_a_deletion_without_the_right_password_deletes_nothing(
    alice: Account, body: dict[str, object], loc: list[str]
) -> None:
    response = await alice.request("DELETE", "/v1/users/me", json=body)

    problem = assert_problem(response, 422, "validation_error")
    assert loc in [error["loc"] for error in problem["errors"]]
    assert (await alice.get("/v1/users/me")).status_code == 200


async def test_a_deletion_without_a_body_is_a_validation_error(alice: Account) -> None:
    assert_problem(await alice.delete("/v1/users/me"), 422, "validation_error")
