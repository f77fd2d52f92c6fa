"""Which event bus a process uses: the one ``THREADLINE_EVENT_BUS`` names."""

from __future__ import annotations

from threadline.events.bus import EventBus, MemoryBus
from threadline.events.postgres_bus import PostgresBus
from threadline.events.redis_bus import RedisBus
from threadline.settings import EventBusKind, Settings


def build_bus(settings: Settings) -> EventBus:
    """The bus the settings name; it connects when the hub starts it."""
    if settings.event_bus is EventBusKind.REDIS:
        return RedisBus(settings.redis_url)
    if settings.event_bus is EventBusKind.POSTGRES:
        return PostgresBus(settings.database_url.replace("+asyncpg", "", 1))
    return MemoryBus()
