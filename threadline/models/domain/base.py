"""The common base of domain models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DomainModel(BaseModel):
    """Immutable value; built by repositories from rows, read by services and the API."""

    model_config = ConfigDict(frozen=True, from_attributes=True)
