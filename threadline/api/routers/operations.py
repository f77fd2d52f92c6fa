"""Operational endpoints at the root: liveness, readiness and metrics (API.md §7)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request, Response

from threadline.api.dependencies import ResourcesDep
from threadline.api.metrics import CONTENT_TYPE_LATEST
from threadline.api.problems import problem
from threadline.models.api.response.operations import HealthResponse, NotReadyResponse, ReadinessResponse

router = APIRouter(tags=["operations"])

# A probe must answer while its caller still waits: a backend that hangs counts as down.
_CHECK_TIMEOUT_SECONDS = 5.0


@router.get("/health", summary="Liveness")
async def health() -> HealthResponse:
    """200 while the process runs."""
    return HealthResponse()


@router.get(
    "/ready",
    summary="Readiness",
    response_model=ReadinessResponse,
    responses={
        503: {
            "model": NotReadyResponse,
            "description": "The database or the event bus is down, or migrations are pending.",
        }
    },
)
async def ready(request: Request, resources: ResourcesDep) -> Response | ReadinessResponse:
    """200 when the database and the event bus answer and no migration is pending; otherwise 503 naming
    what is not ready."""
    database_ok, bus_ok = await asyncio.gather(
        _answers(resources.database.ping()), _answers(resources.bus.check())
    )
    schema_ok = resources.database.schema_ready
    if database_ok and bus_ok and schema_ok:
        return ReadinessResponse()
    down = [
        *([] if database_ok else ["database unavailable"]),
        *([] if bus_ok else [f"event bus ({resources.bus.name}) unavailable"]),
        *([] if schema_ok else ["migrations pending"]),
    ]
    return problem(
        request,
        503,
        "unavailable",
        f"Not ready: {', '.join(down)}",
        database=_state(database_ok),
        event_bus=_state(bus_ok),
        migrations="ok" if schema_ok else "pending",
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Metrics."}},
)
async def metrics(resources: ResourcesDep) -> Response:
    """Request counts by route template and status, latency histogram, open streams (text format)."""
    return Response(resources.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _state(ok: bool) -> str:
    return "ok" if ok else "unavailable"


async def _answers(check: Awaitable[object]) -> bool:
    """Whether a backend check finishes in time without raising and without saying no."""
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
            return (await check) is not False
    except Exception:
        return False
