"""No password, access token, API key or stream token ever reaches a log record, even at DEBUG."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.support.accounts import unique_email

# The libraries that see requests, SQL or form fields, and could echo them.
LOGGERS = ("threadline", "uvicorn", "sqlalchemy", "aiosqlite", "asyncpg", "httpx", "multipart", "fastapi")

PASSWORD = "my secret passphrase"
NEW_PASSWORD = "another secret passphrase"
WRONG_PASSWORD = "a mistyped passphrase"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


async def test_credential_flows_log_no_secret(
    client: httpx.AsyncClient, debug_logs: pytest.LogCaptureFixture
) -> None:
    email = unique_email()
    assert (
        await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    ).status_code == 201
    login = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    form = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    failed = await client.post("/v1/auth/login", json={"email": email, "password": WRONG_PASSWORD})
    assert (login.status_code, form.status_code, failed.status_code) == (200, 200, 401)
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    api_key = (await client.post("/v1/auth/api-keys", json={"name": "ci"}, headers=auth)).json()["key"]
    by_key = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {api_key}"})
    stream_token = (await client.post("/v1/auth/stream-tokens", headers=auth)).json()["token"]
    changed = await client.patch(
        "/v1/users/me", json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=auth
    )
    assert (by_key.status_code, changed.status_code) == (200, 200)

    secrets = {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "access token": login.json()["access_token"],
        "form access token": form.json()["access_token"],
        "access token signature": login.json()["access_token"].rsplit(".", 1)[1],
        "API key": api_key,
        "stream token": stream_token,
    }
    logged = [
        f"{record.name}: {record.getMessage()} {record.exc_text or ''}" for record in debug_logs.records
    ]
    assert any("INSERT INTO users" in line for line in logged), "the capture must see the SQL being run"
    leaks = [(what, line) for line in logged for what, secret in secrets.items() if secret in line]
    assert leaks == []
