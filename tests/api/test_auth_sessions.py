"""Sign-ins that can be ended: logout, the list of sessions, ending one, and a new password ending all."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account, sign_up
from tests.support.problems import assert_problem
from tests.support.server import streaming_client
from tests.support.sse import open_stream
from tests.support.teams import create_workspace
from threadline.app import create_app
from threadline.settings import Settings


async def log_in_again(account: Account, *, user_agent: str = "test-agent/1.0", client: str = "") -> Account:
    """``account`` with the token of a new sign-in of its own."""
    headers = {"User-Agent": user_agent, **({"X-Forwarded-For": client} if client else {})}
    login = await account.client.post(
        "/v1/auth/login", json={"email": account.email, "password": account.password}, headers=headers
    )
    assert login.status_code == 200, login.text
    return dataclasses.replace(account, token=login.json()["access_token"])


async def sessions_of(account: Account) -> list[dict[str, object]]:
    listed = await account.get("/v1/auth/sessions")
    assert listed.status_code == 200, listed.text
    items: list[dict[str, object]] = listed.json()["items"]
    return items


async def test_a_logged_out_token_is_refused_everywhere_and_the_others_go_on(alice: Account) -> None:
    laptop = await log_in_again(alice)
    stream_token = (await alice.post("/v1/auth/stream-tokens")).json()["token"]

    assert (await alice.post("/v1/auth/logout")).status_code == 204

    assert_problem(await alice.get("/v1/users/me"), 401, "unauthenticated")
    assert_problem(await alice.post("/v1/workspaces", json={"name": "After"}), 401, "unauthenticated")
    assert_problem(await alice.post("/v1/auth/logout"), 401, "unauthenticated")
    refused_stream = await alice.client.get("/v1/events", params={"token": stream_token})
    assert_problem(refused_stream, 401, "unauthenticated")
    assert (await laptop.get("/v1/users/me")).status_code == 200


async def test_logging_out_with_an_api_key_is_forbidden(alice: Account) -> None:
    key = (await alice.post("/v1/auth/api-keys", json={"name": "ci"})).json()

    response = await alice.client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {key['key']}"})

    assert_problem(response, 403, "forbidden")


async def test_sessions_list_each_sign_in_with_its_client_and_which_one_asks(alice: Account) -> None:
    phone = await log_in_again(alice, user_agent="Phone/2.0", client="198.51.100.9")

    sessions = await sessions_of(phone)

    assert len(sessions) == 2
    newest, first = sessions
    assert (newest["user_agent"], newest["current"]) == ("Phone/2.0", True)
    assert first["current"] is False
    assert {session["client_address"] for session in sessions} == {"203.0.113.7"}
    for session in sessions:
        assert set(session) == {
            "id",
            "created_at",
            "last_used_at",
            "expires_at",
            "client_address",
            "user_agent",
            "current",
        }
        assert str(session["last_used_at"]) >= str(session["created_at"])


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_sessions_client(
    make_settings: Callable[..., Settings],
) -> None:
    application = create_app(make_settings(forwarded_allow_ips="203.0.113.7"))
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as proxy,
    ):
        account = await sign_up(proxy)
        again = await log_in_again(account, client="192.0.2.1, 203.0.113.7")
        addresses = {session["client_address"] for session in await sessions_of(again)}

    assert addresses == {"203.0.113.7", "192.0.2.1"}


async def test_ending_one_session_refuses_its_token_and_keeps_the_caller(alice: Account) -> None:
    tablet = await log_in_again(alice, user_agent="Tablet")
    tablet_session = next(session for session in await sessions_of(tablet) if session["current"])

    ended = await alice.delete(f"/v1/auth/sessions/{tablet_session['id']}")

    assert ended.status_code == 204
    assert_problem(await tablet.get("/v1/users/me"), 401, "unauthenticated")
    assert [session["current"] for session in await sessions_of(alice)] == [True]
    again = await alice.delete(f"/v1/auth/sessions/{tablet_session['id']}")
    assert_problem(again, 404, "not_found")


async def test_another_accounts_session_is_not_found(alice: Account, bob: Account) -> None:
    bobs = (await sessions_of(bob))[0]

    response = await alice.delete(f"/v1/auth/sessions/{bobs['id']}")

    assert_problem(response, 404, "not_found")
    assert (await bob.get("/v1/users/me")).status_code == 200


@pytest.mark.parametrize("session_id", ["not-a-uuid", "1", "%00"])
async def test_a_malformed_session_id_is_a_validation_error(alice: Account, session_id: str) -> None:
    assert_problem(await alice.delete(f"/v1/auth/sessions/{session_id}"), 422, "validation_error")


async def test_a_new_password_ends_every_sign_in_and_stream_token_issued_before(alice: Account) -> None:
    laptop = await log_in_again(alice)
    stream_token = (await laptop.post("/v1/auth/stream-tokens")).json()["token"]

    changed = await alice.patch(
        "/v1/users/me", json={"password": "a brand new secret", "current_password": alice.password}
    )

    assert changed.status_code == 200, changed.text
    for old in (alice, laptop):
        assert_problem(await old.get("/v1/users/me"), 401, "unauthenticated")
    assert_problem(
        await alice.client.get("/v1/events", params={"token": stream_token}), 401, "unauthenticated"
    )
    fresh = await log_in_again(dataclasses.replace(alice, password="a brand new secret"))
    assert [session["current"] for session in await sessions_of(fresh)] == [True]


async def test_a_new_name_ends_no_sign_in(alice: Account) -> None:
    assert (await alice.patch("/v1/users/me", json={"name": "Alicia"})).status_code == 200

    assert (await alice.get("/v1/users/me")).status_code == 200


async def test_the_open_streams_of_an_ended_sign_in_end_with_revoked(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    other = await log_in_again(alice)
    stream_token = (await alice.post("/v1/auth/stream-tokens")).json()["token"]
    async with (
        streaming_client(app) as http,
        open_stream(http, "/v1/events", headers=alice.headers) as by_header,
        open_stream(
            http, f"/v1/workspaces/{workspace['id']}/events", params={"token": stream_token}
        ) as by_query,
        open_stream(http, "/v1/events", headers=other.headers) as untouched,
    ):
        assert (await alice.post("/v1/auth/logout")).status_code == 204
        endings = [await by_header.rest(), await by_query.rest()]
        assert (
            await other.patch(f"/v1/workspaces/{workspace['id']}", json={"name": "Still"})
        ).status_code == 200
        heard = await untouched.next()

    for ending in endings:
        assert [event.event for event in ending] == ["revoked"]
        assert "sign-in" in ending[0].json()["reason"]
    assert heard.event == "workspace.updated"
