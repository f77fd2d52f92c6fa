"""``/metrics`` of one app (docs/operations.md, "Metrics"): events, streams and group-commit batches add up
to what the requests did. Across worker processes: tests/scaleout/test_workers.py."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.event_log import stored_events
from tests.support.metrics import samples
from tests.support.replies import start_reply, stream_text
from tests.support.server import streaming_client
from tests.support.sse import open_stream
from tests.support.teams import create_workspace

MESSAGES = 12
DOCS = Path(__file__).parents[2] / "docs"
OPERATIONS_DOC = DOCS / "operations.md"
DASHBOARD = DOCS / "grafana-dashboard.json"
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """The one sample of ``name`` whose labels include ``labels``."""
    [sample] = [sample for sample in samples(text, name) if labels.items() <= sample.labels.items()]
    return sample.value


async def test_events_appended_are_counted_by_type_as_the_log_holds_them(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    await asyncio.gather(*(post_message(alice, conversation["id"], f"#{n}") for n in range(MESSAGES)))

    text = await scrape(client)

    logged = Counter(event.type.value for event in await stored_events(app))
    counted = {
        sample.labels["type"]: sample.value for sample in samples(text, "threadline_events_appended_total")
    }
    assert logged["message.created"] == MESSAGES
    assert counted == logged


async def test_a_ring_is_counted_for_each_commit_that_logged_events(
    client: httpx.AsyncClient, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    before = value(await scrape(client), "threadline_bus_rings_received_total")

    await create_conversation(alice, workspace["id"])

    assert value(await scrape(client), "threadline_bus_rings_received_total") == before + 1


async def test_batch_sizes_add_up_to_the_messages_and_deltas_posted(
    client: httpx.AsyncClient, alice: Account
) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    await asyncio.gather(*(post_message(alice, conversation["id"], f"#{n}") for n in range(MESSAGES)))
    reply = await start_reply(alice, conversation["id"])
    await stream_text(alice, reply, ["a", "b", "c"])

    text = await scrape(client)

    posts = MESSAGES + 1  # and the reply
    assert value(text, "threadline_batch_size_sum", writer="messages") == posts
    assert 1 <= value(text, "threadline_batch_size_count", writer="messages") <= posts
    assert value(text, "threadline_batch_size_sum", writer="deltas") == 3
    assert value(text, "threadline_batch_size_count", writer="deltas") == 3  # one after the other
    batches = value(text, "threadline_batch_duration_seconds_count", writer="messages")
    assert batches == value(text, "threadline_batch_size_count", writer="messages")
    assert value(text, "threadline_batch_duration_seconds_sum", writer="messages") > 0
    assert value(text, "threadline_batch_failures_total", writer="messages", reason="error") == 0


async def test_a_stream_opened_with_a_reset_is_counted(app: FastAPI, alice: Account) -> None:
    async with streaming_client(app) as http:
        before = value(await scrape(http), "threadline_sse_stream_resets_total")
        async with open_stream(http, "/v1/events", headers=alice.headers | {"Last-Event-ID": "x"}) as stream:
            assert (await stream.next()).event == "reset"
            during = await scrape(http)

    assert value(during, "threadline_sse_stream_resets_total") == before + 1
    assert value(during, "threadline_sse_open_streams") == 1


async def test_the_pool_is_reported(client: httpx.AsyncClient) -> None:
    text = await scrape(client)

    assert value(text, "threadline_database_pool_size") > 0
    assert value(text, "threadline_database_pool_checked_out") >= 0
    assert value(text, "threadline_database_pool_overflow") >= 0


async def test_every_metric_is_documented(client: httpx.AsyncClient) -> None:
    documented = OPERATIONS_DOC.read_text()

    families = text_string_to_metric_families(await scrape(client))
    exported = {family.name for family in families if not family.name.endswith("_created")}

    ours = {name for name in exported if name.startswith("threadline_")}
    assert ours
    assert {name for name in ours if f"`{name}" not in documented} == set()


async def test_the_dashboard_queries_only_metrics_that_are_exported(client: httpx.AsyncClient) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    families = text_string_to_metric_families(await scrape(client))
    exported = {
        family.name + suffix for family in families for suffix in SAMPLE_SUFFIXES.get(family.type, ())
    }

    graphs = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    queried = {
        name
        for panel in graphs
        for target in panel["targets"]
        for name in re.findall(r"\bthreadline_\w+", target["expr"])
    }

    assert [source["name"] for source in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    assert all(_datasources(panel) == {"${DS_PROMETHEUS}"} for panel in graphs)
    assert queried - exported == set()
    assert len(queried) >= 15, queried


def _datasources(panel: dict[str, Any]) -> set[str]:
    return {panel["datasource"]["uid"]} | {target["datasource"]["uid"] for target in panel["targets"]}
