"""Benchmark settings: each field is a command-line option and a ``BENCH_<FIELD>`` environment variable."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

_T = TypeVar("_T", int, float, str)


def _option(default: _T, help_text: str, parse: Callable[[str], _T] | None = None) -> _T:
    """A field that ``parse_args`` turns into an option; the help text lives beside the default."""
    return field(default=default, metadata={"help": help_text, "parse": parse or type(default)})


def int_list(text: str) -> str:
    """Validate a comma-separated list of positive integers, kept as text."""
    if not all(part.strip().isdigit() for part in text.split(",")):
        raise ValueError(text)
    return text


def names(text: str) -> str:
    """Validate a comma-separated list of B7 deployments, kept as text."""
    if not text or not {part.strip() for part in text.split(",")} <= {"sqlite", "postgres"}:
        raise ValueError(text)
    return text


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and limits for one run; the defaults are the published targets' conditions."""

    connections: int = _option(64, "keep-alive connections of the load generator")
    time_limit: float = _option(300.0, "seconds any one load phase may run")
    base_http_requests: int = _option(50_000, "requests per method for the base_http benchmark alone")
    b1_messages: int = _option(50_000, "messages appended in each B1 pass")
    b1_conversations: int = _option(100, "conversations the second B1 pass spreads over")
    b2_messages: int = _option(10_000, "messages in the B2 conversation")
    b2_pages: int = _option(10_000, "pages read per B2 phase")
    b3_posts: int = _option(200, "posts timed in B3, and rounds of BASE_FAN(1)")
    fan_sizes: str = _option("1000,5000", "comma-separated subscriber counts for B4 and base_fan", int_list)
    fan_rounds: int = _option(8, "broadcast rounds per subscriber count")
    b5_subscribers: int = _option(10_000, "idle subscribers held in B5")
    b5_idle_seconds: float = _option(20.0, "seconds B5 holds its subscribers idle (past one heartbeat)")
    b6_subscribers: int = _option(1_000, "subscribers of B6's fan-out, split evenly over the processes")
    b6_messages: int = _option(5_000, "messages appended in each B6 append pass, with one and two processes")
    b7_replies: int = _option(20, "B7 replies streaming at once, one per conversation")
    b7_deltas: int = _option(400, "deltas of 4 characters per B7 reply at the base rate")
    b7_rate: float = _option(25.0, "B7 base rate: deltas a second per reply")
    b7_subscribers: int = _option(200, "B7 event streams, dealt evenly over the replies' conversations")
    b7_ladder: str = _option("50,100,200,400", "B7 per-reply rates tried above the base rate", int_list)
    b7_step_seconds: float = _option(6.0, "seconds each B7 ladder step above the base rate streams for")
    b7_long_deltas: int = _option(5_000, "deltas of B7's long reply, sent one after another")
    b7_deployments: str = _option(
        "sqlite,postgres", "B7 deployments: sqlite (1 process) and/or postgres (2 processes, redis)", names
    )
    b8_messages: int = _option(1_000_000, "messages B8 searches over")
    b8_conversations: int = _option(1_000, "conversations B8's messages are dealt over")
    b8_requests: int = _option(2_000, "B8 searches per query")
    b8_appends: int = _option(5_000, "B8 appends per pass, with and without the search index")
    b8_deployments: str = _option("sqlite,postgres", "B8 deployments: sqlite and/or postgres", names)
    postgres_dsn: str = _option(
        "postgresql://postgres@127.0.0.1:5432/test",
        "PostgreSQL database B6 and B7 connect to to create (and drop) its own throw-away databases",
    )
    connect_concurrency: int = _option(100, "event streams being opened at once")
    workers: int = _option(1, "threadline serve --workers")
    server_env: tuple[str, ...] = ()

    @property
    def fan_counts(self) -> list[int]:
        return [int(part) for part in self.fan_sizes.split(",")]

    @property
    def b7_ladder_rates(self) -> list[int]:
        return [int(part) for part in self.b7_ladder.split(",")]

    @property
    def b7_deployment_names(self) -> list[str]:
        return [part.strip() for part in self.b7_deployments.split(",")]

    @property
    def b8_deployment_names(self) -> list[str]:
        return [part.strip() for part in self.b8_deployments.split(",")]

    @property
    def extra_server_env(self) -> dict[str, str]:
        """``KEY=VALUE`` pairs given with ``--server-env``, e.g. a PostgreSQL URL or an event bus."""
        return dict(item.split("=", 1) for item in self.server_env)


def parse_args(
    argv: Sequence[str] | None, *, default: Sequence[str], optional: Sequence[str]
) -> tuple[list[str], BenchConfig]:
    """Benchmark names and settings from the command line, falling back to the environment.

    ``default`` names run when none is given; ``optional`` ones run only when named.
    """
    parser = argparse.ArgumentParser(prog="python -m bench", description="Threadline benchmarks.")
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run: {', '.join(default)} (the default), or {', '.join(optional)}",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=list(filter(None, os.environ.get("BENCH_SERVER_ENV", "").split())),
        metavar="KEY=VALUE",
        help="extra environment for threadline serve (repeatable; BENCH_SERVER_ENV, space-separated)",
    )
    for item in dataclasses.fields(BenchConfig):
        if "help" not in item.metadata:
            continue
        env = f"BENCH_{item.name.upper()}"
        parse = item.metadata["parse"]
        parser.add_argument(
            f"--{item.name.replace('_', '-')}",
            type=parse,
            # argparse applies ``type`` to a string default, which is what the environment holds.
            default=os.environ.get(env, item.default),
            help=f"{item.metadata['help']} (env {env}, default %(default)s)",
        )
    args = vars(parser.parse_args(argv))
    names = args.pop("names") or list(default)
    if unknown := sorted(set(names) - {*default, *optional}):
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    if bad := [item for item in args["server_env"] if "=" not in item]:
        parser.error(f"--server-env wants KEY=VALUE, got {bad[0]!r}")
    args["server_env"] = tuple(args["server_env"])
    return names, BenchConfig(**args)
