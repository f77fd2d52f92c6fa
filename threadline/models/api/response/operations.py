"""Bodies answered by the operational endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from threadline.models.api.response.base import ProblemResponse, ResponseModel


class HealthResponse(ResponseModel):
    """The process is running; it says nothing of the database or the event bus (see `/ready`)."""

    status: Literal["ok"] = "ok"
    """Always `ok`."""


class ReadinessResponse(ResponseModel):
    """The database and the event bus both answer, so this process can serve requests."""

    status: Literal["ready"] = "ready"
    """Always `ready`."""
    database: Literal["ok"] = "ok"
    """The database answers."""
    event_bus: Literal["ok"] = "ok"
    """The event bus answers."""


class NotReadyResponse(ProblemResponse):
    """A 503 problem document that also says which of the database and the event bus is down, and whether
    migrations are still to be applied (a server started while the database was away)."""

    database: Literal["ok", "unavailable"]
    """Whether the database answers."""
    event_bus: Literal["ok", "unavailable"] = Field(
        description="The bus that carries events between processes."
    )
    migrations: Literal["ok", "pending"] = Field(
        description="`pending` until this process has applied the database's migrations."
    )
