"""The ``threadline`` command line (API.md §7), run as the real installed script."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

THREADLINE = Path(sys.executable).with_name("threadline")
DEV_KEY_WARNING = "THREADLINE_SECRET_KEY is not set"
STARTUP_TIMEOUT_SECONDS = 60


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """This process's environment without any THREADLINE_ setting, pointing at a new SQLite file."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("THREADLINE_")}
    return {**clean, "THREADLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}


def run(tmp_path: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command in ``tmp_path``, so no ``.env`` of the checkout is read."""
    return subprocess.run(
        [THREADLINE, *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# Port 0 for serve: should a refusal ever regress into serving, it takes no port anything else uses.
@pytest.mark.parametrize(
    ("settings", "command", "message"),
    [
        pytest.param(
            {"THREADLINE_ENV": "production"},
            ["serve", "--port", "0"],
            "THREADLINE_SECRET_KEY must be set",
            id="production without a key",
        ),
        pytest.param(
            {},
            ["serve", "--port", "0", "--workers", "2"],
            "THREADLINE_EVENT_BUS=redis or postgres",
            id="workers on the memory bus",
        ),
        pytest.param({"THREADLINE_EVENT_BUS": "kafka"}, ["migrate"], "event_bus", id="an unknown bus"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_a_message(
    tmp_path: Path, environment: dict[str, str], settings: dict[str, str], command: list[str], message: str
) -> None:
    result = run(tmp_path, {**environment, **settings}, *command)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cli.db").exists(), "refused before touching the database"


def test_migrate_creates_the_schema_on_a_new_sqlite_file(tmp_path: Path, environment: dict[str, str]) -> None:
    result = run(tmp_path, environment, "migrate")

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        tables = {
            name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    assert {"users", "api_keys", "workspaces", "alembic_version"} <= tables


def test_migrate_fails_at_once_when_the_database_is_unreachable(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """A one-shot step of a deploy: unlike ``serve``, it does not wait for the database to come."""
    unreachable = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/threadline"

    result = run(tmp_path, {**environment, "THREADLINE_DATABASE_URL": unreachable}, "migrate")

    assert result.returncode == 1
    assert "cannot migrate: the database is unreachable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def server(tmp_path: Path, environment: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """A real ``threadline serve`` in development without a key; yields its URL and its log file."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [THREADLINE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during startup"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"threadline serve did not answer /health within {STARTUP_TIMEOUT_SECONDS} s")


@pytest.mark.e2e
def test_serve_without_a_key_in_development_warns_and_serves_over_http(server: tuple[str, Path]) -> None:
    url, log = server
    account = {"email": "Erin@Example.com", "password": "correct horse battery"}

    with httpx.Client(base_url=url, timeout=30) as http:
        registered = http.post("/v1/auth/register", json=account)
        login = http.post("/v1/auth/login", json=account)
        me = http.get("/v1/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})

    assert registered.status_code == 201, registered.text
    assert login.status_code == 200, login.text
    assert me.status_code == 200
    assert me.json() == registered.json()
    assert me.json()["email"] == "erin@example.com"
    assert DEV_KEY_WARNING in log.read_text()
