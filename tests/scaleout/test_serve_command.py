"""``threadline serve``: several workers on a shared bus and PostgreSQL, and a clear refusal otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threadline.cli import main

SQLITE_URL = "sqlite+aiosqlite:///./threadline.db"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/threadline"
SECRET_KEY = "a-secret-key-shared-by-every-worker-and-host"

Environment = Callable[..., None]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Environment:
    """Sets ``THREADLINE_*`` variables for the command, with none inherited and no ``.env`` around."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("THREADLINE_")]:
        monkeypatch.delenv(name)

    def set_settings(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"THREADLINE_{name.upper()}", value)

    return set_settings


@pytest.mark.parametrize(
    ("settings", "workers", "refusal"),
    [
        (
            {"event_bus": "postgres", "database_url": SQLITE_URL},
            1,
            "THREADLINE_DATABASE_URL to be PostgreSQL",
        ),
        (
            {"event_bus": "memory", "database_url": POSTGRES_URL, "secret_key": SECRET_KEY},
            2,
            "shared event bus",
        ),
        ({"event_bus": "redis", "database_url": SQLITE_URL, "secret_key": SECRET_KEY}, 2, "needs PostgreSQL"),
        ({"event_bus": "redis", "database_url": POSTGRES_URL}, 2, "needs THREADLINE_SECRET_KEY"),
    ],
    ids=["postgres-bus-on-sqlite", "memory-bus", "sqlite", "no-shared-secret"],
)
def test_serve_refuses_settings_that_cannot_work(
    environment: Environment,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, str],
    workers: int,
    refusal: str,
) -> None:
    environment(**settings)

    assert main(["serve", "--workers", str(workers)]) == 2
    assert refusal in capsys.readouterr().err


@pytest.mark.parametrize("bus", ["redis", "postgres"])
def test_serve_starts_several_workers_on_a_shared_bus(
    environment: Environment, monkeypatch: pytest.MonkeyPatch, bus: str
) -> None:
    environment(event_bus=bus, database_url=POSTGRES_URL, secret_key=SECRET_KEY)
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(options, app=app))

    assert main(["serve", "--workers", "3"]) == 0
    # Each worker calls the factory itself, so each builds its own engine, hub and bus, and migrates.
    assert (served["app"], served["factory"], served["workers"]) == (
        "threadline.app:create_served_app",
        True,
        3,
    )
