"""Runtime configuration, read from the environment (prefix ``THREADLINE_``) and a ``.env`` file."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class EventBusKind(StrEnum):
    MEMORY = "memory"
    REDIS = "redis"
    POSTGRES = "postgres"


class Settings(BaseSettings):
    """Every knob of the service. Built once by the app factory or the CLI, never at import time."""

    model_config = SettingsConfigDict(env_prefix="THREADLINE_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./threadline.db"
    event_bus: EventBusKind = EventBusKind.MEMORY
    redis_url: str = "redis://127.0.0.1:6379/0"
    secret_key: str | None = Field(default=None, repr=False)
    access_token_ttl_seconds: int = Field(default=3600, ge=1)
    stream_token_ttl_seconds: int = Field(default=300, ge=1)
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    sse_queue_size: int = Field(default=1000, ge=1)
    sse_retry_ms: int = Field(default=3000, ge=0)
    event_poll_seconds: float = Field(default=1.0, gt=0)
    event_retention_days: float = Field(default=7, gt=0)
    event_prune_interval_seconds: float = Field(default=3600.0, gt=0)
    #: A streaming reply with no delta for this long is failed by the server: its author went away.
    stream_idle_timeout_seconds: float = Field(default=300.0, gt=0)
    #: ``message.delta`` events of replies that ended are pruned once this old: the final
    #: ``message.updated`` carries the whole text.
    delta_retention_seconds: float = Field(default=3600.0, gt=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: float = Field(default=300.0, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    #: Proxies whose ``X-Forwarded-For``/``-Proto`` are believed (comma-separated addresses or networks,
    #: ``*`` for any): behind a load balancer, the client address that login throttling keys on.
    forwarded_allow_ips: str = "127.0.0.1"
    database_pool_size: int = Field(default=10, ge=1)
    #: How long to wait on the database (to connect, for a pooled connection, for a statement's answer)
    #: before answering 503: a silent network or a frozen server otherwise hangs requests for good.
    database_timeout_seconds: float = Field(default=30.0, gt=0)
    #: PostgreSQL's text-search configuration for the search index (``simple``, ``english``, ``german``,
    #: …). Applied by ``threadline migrate`` and ``serve``, which rebuild the index when it changes
    #: (docs/search.md). SQLite's index has no language.
    search_language: str = Field(default="simple", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    #: ``sort=relevance`` ranks the newest this many matches of a search: ranking every match of a common
    #: word stalls a process for seconds (docs/search.md).
    search_relevance_window: int = Field(default=10_000, ge=1)
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=32)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_what_cannot_work(self) -> Self:
        # Production refuses a generated key: it would change on every restart and differ between processes.
        if self.env is Environment.PRODUCTION and not self.secret_key:
            raise ValueError("THREADLINE_SECRET_KEY must be set when THREADLINE_ENV=production")
        # The PostgreSQL bus rings through the application's own database.
        if self.event_bus is EventBusKind.POSTGRES and self.is_sqlite:
            raise ValueError(
                "THREADLINE_EVENT_BUS=postgres needs THREADLINE_DATABASE_URL to be PostgreSQL, not SQLite"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
