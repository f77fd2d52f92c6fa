"""The application factory: builds the engine, the bus and the hub in the lifespan, and wires the routers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from threadline.api.metrics import Metrics
from threadline.api.middleware import RequestContextMiddleware
from threadline.api.problems import install_problem_handlers
from threadline.api.routers import auth, operations, users, workspaces
from threadline.database.engine import Database, create_engine
from threadline.events.bus import EventBus, MemoryBus
from threadline.resources import Resources
from threadline.services.security import TokenIssuer
from threadline.settings import Environment, Settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
Threadline is the backend for AI-assistant and chat clients: accounts and API keys, workspaces shared
with roles, conversations of any modality with their messages, and a resumable Server-Sent Events stream
of every change. Errors are RFC 9457 problem documents with a stable `code`.
"""


class ConfigurationError(RuntimeError):
    """The settings cannot work; raised before anything is served."""


def resolve_secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    if settings.env is Environment.PRODUCTION:
        raise ConfigurationError("THREADLINE_SECRET_KEY must be set when THREADLINE_ENV=production")
    logger.warning(
        "THREADLINE_SECRET_KEY is not set: using a random development key; tokens will not survive a restart"
    )
    return secrets.token_urlsafe(32)


def build_bus(settings: Settings) -> EventBus:
    return MemoryBus()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    secret_key = resolve_secret_key(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(create_engine(settings.database_url, pool_size=settings.database_pool_size))
        bus = build_bus(settings)
        tokens = TokenIssuer(
            secret_key,
            access_ttl_seconds=settings.access_token_ttl_seconds,
            stream_ttl_seconds=settings.stream_token_ttl_seconds,
        )
        app.state.resources = Resources(settings=settings, database=database, bus=bus, tokens=tokens)
        try:
            yield
        finally:
            await bus.close()
            await database.dispose()

    app = FastAPI(
        title="Threadline",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "auth", "description": "Accounts, login, API keys and stream tokens."},
            {"name": "users", "description": "The caller's own account."},
            {"name": "workspaces", "description": "Workspaces shared between users, and their members."},
            {"name": "operations", "description": "Health, readiness and metrics."},
        ],
    )
    app.state.metrics = metrics
    install_problem_handlers(app)
    for router in (auth.router, users.router, workspaces.router, operations.router):
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    return app
