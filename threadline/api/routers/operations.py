"""Operational endpoints at the root: liveness, readiness and metrics (API.md §7)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from threadline.api.dependencies import ResourcesDep
from threadline.api.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness",
    responses={503: {"description": "The database or the event bus is down; the body names which."}},
)
async def ready(resources: ResourcesDep) -> JSONResponse:
    """200 when the database and the event bus answer; 503 naming what does not."""
    database = "ok"
    try:
        await resources.database.ping()
    except Exception:
        database = "unavailable"
    event_bus = "ok" if await resources.bus.check() else "unavailable"
    healthy = database == "ok" and event_bus == "ok"
    body = {"status": "ready" if healthy else "unavailable", "database": database, "event_bus": event_bus}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request counts by route template and status, latency histogram, open streams (text format)."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
