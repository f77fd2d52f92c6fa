"""Bodies answered by the operational endpoints."""

from __future__ import annotations

from typing import Literal

from threadline.models.api.response.base import ResponseModel


class HealthResponse(ResponseModel):
    """The process is running; it says nothing of the database or the event bus (see `/ready`)."""

    status: Literal["ok"] = "ok"


class ReadinessResponse(ResponseModel):
    """The database and the event bus both answer, so this process can serve requests."""

    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    event_bus: Literal["ok"] = "ok"
