"""The ``threadline`` command: ``serve`` (migrate, then serve), ``migrate``, ``assistant`` (the bridge
of ``threadline_client.assistant``, which needs only the client package), and ``scaffold`` (a new
resource's code, for developers; docs/guide.md).

``serve`` starts even while the database is away, and migrates once it answers (the app does, in each
worker); ``migrate`` is a one-shot step of a deploy, so it fails at once, exiting 1, if it cannot.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

import uvicorn
from pydantic import ValidationError

from threadline.api.metrics import MULTIPROCESS_DIR
from threadline.database.migrate import upgrade
from threadline.scaffold import command as scaffold
from threadline.settings import EventBusKind, Settings
from threadline_client import assistant


class ConfigurationError(RuntimeError):
    """The command line asks for what the settings cannot serve."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="threadline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply pending migrations, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="apply pending migrations only")
    assistant.add_arguments(
        commands.add_parser("assistant", help="answer user messages with replies streamed from a model")
    )
    scaffold.add_arguments(commands.add_parser("scaffold", help="write a new resource's vertical slice"))
    args = parser.parse_args(argv)
    if args.command == "assistant":
        return assistant.run(args)
    if args.command == "scaffold":
        return scaffold.run(args)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"threadline: invalid settings: {error}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        return _migrate(settings)
    try:
        _check_serve(settings, workers=args.workers)
    except ConfigurationError as error:
        print(f"threadline: {error}", file=sys.stderr)
        return 2
    with _shared_metrics(workers=args.workers):
        _serve(args.host, args.port, workers=args.workers)
    return 0


def _migrate(settings: Settings) -> int:
    try:
        upgrade(settings.database_url, search_language=settings.search_language)
    except OSError as error:  # the database cannot be reached; any other failure keeps its traceback
        print(f"threadline: cannot migrate: the database is unreachable ({error})", file=sys.stderr)
        return 1
    return 0


def _serve(host: str, port: int, *, workers: int) -> None:
    uvicorn.run(
        "threadline.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,  # the app applies THREADLINE_FORWARDED_ALLOW_IPS itself
        timeout_graceful_shutdown=5,
    )


@contextlib.contextmanager
def _shared_metrics(*, workers: int) -> Iterator[None]:
    """Several workers keep their metrics in one fresh directory, so each scrape sees all of them.

    An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is used as it is (it must be empty at start).
    """
    if workers == 1 or os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="threadline-metrics-") as directory:
        os.environ[MULTIPROCESS_DIR] = directory  # the workers are spawned with this environment
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR]


def _check_serve(settings: Settings, *, workers: int) -> None:
    if workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    if workers > 1 and settings.event_bus is EventBusKind.MEMORY:
        raise ConfigurationError(
            "--workers > 1 needs a shared event bus: set THREADLINE_EVENT_BUS=redis or postgres"
        )
    if workers > 1 and settings.is_sqlite:
        raise ConfigurationError("--workers > 1 needs PostgreSQL: SQLite serves one process")
    if workers > 1 and not settings.secret_key:
        raise ConfigurationError("--workers > 1 needs THREADLINE_SECRET_KEY, shared by every worker")
