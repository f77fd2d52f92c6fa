"""The application factory: builds the engine, the bus and the hub in the lifespan, and wires the routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from functools import partial
from types import FrameType
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from threadline.api.head import HeadMiddleware
from threadline.api.metrics import Metrics
from threadline.api.middleware import RequestContextMiddleware
from threadline.api.openapi import install_problem_openapi
from threadline.api.problems import install_problem_handlers
from threadline.api.routers import (
    auth,
    conversation_copies,
    conversations,
    events,
    messages,
    operations,
    replies,
    search,
    users,
    workspaces,
)
from threadline.api.sse import CutOffStreams, encode_event
from threadline.api.web import WebFiles, web_router
from threadline.database.engine import Database, create_engine
from threadline.database.unit_of_work import UnitOfWork
from threadline.events.bus import EventBus, MemoryBus
from threadline.events.hub import StreamHub
from threadline.events.postgres_bus import PostgresBus
from threadline.events.redis_bus import RedisBus
from threadline.events.retention import RetentionPruner
from threadline.resources import Resources
from threadline.services.deltas import DeltaWriter
from threadline.services.idle_replies import IdleReplySweeper
from threadline.services.login_throttle import LoginThrottle
from threadline.services.message_appender import MessageAppender
from threadline.services.security import TokenIssuer
from threadline.services.sign_ins import SignInRegistry
from threadline.settings import Environment, EventBusKind, Settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
Threadline is the backend for AI-assistant and chat clients: accounts and API keys, workspaces shared
with roles, conversations of any modality with their messages, and a resumable Server-Sent Events stream
of every change. Errors are RFC 9457 problem documents with a stable `code`.
"""


class ConfigurationError(RuntimeError):
    """The settings cannot work; raised before anything is served."""


def require_secret_key(settings: Settings) -> None:
    """Production refuses a generated key: it would change on every restart and differ between processes."""
    if settings.env is Environment.PRODUCTION and not settings.secret_key:
        raise ConfigurationError("THREADLINE_SECRET_KEY must be set when THREADLINE_ENV=production")


def resolve_secret_key(settings: Settings) -> str:
    """The key that signs tokens: the configured one, or in development a random one for this process."""
    require_secret_key(settings)
    if settings.secret_key:
        return settings.secret_key
    logger.warning(
        "THREADLINE_SECRET_KEY is not set: using a random development key; tokens will not survive a restart"
    )
    return secrets.token_urlsafe(32)


def require_bus_database(settings: Settings) -> None:
    """The PostgreSQL bus rings through the application's own database, so that must be PostgreSQL."""
    if settings.event_bus is EventBusKind.POSTGRES and settings.is_sqlite:
        raise ConfigurationError(
            "THREADLINE_EVENT_BUS=postgres needs THREADLINE_DATABASE_URL to be PostgreSQL, not SQLite"
        )


def build_bus(settings: Settings) -> EventBus:
    """The doorbell named by THREADLINE_EVENT_BUS; it connects when the hub starts it."""
    if settings.event_bus is EventBusKind.REDIS:
        return RedisBus(settings.redis_url)
    if settings.event_bus is EventBusKind.POSTGRES:
        return PostgresBus(settings.database_url.replace("+asyncpg", "", 1))
    return MemoryBus()


@contextmanager
def streams_drained_on_exit_signals(hub: StreamHub) -> Iterator[None]:
    """While serving, end every event stream as soon as SIGTERM or SIGINT arrives.

    Servers stop on those signals by waiting for open responses before they run the lifespan's shutdown,
    and an event stream never ends by itself: undrained, uvicorn would cancel each at its graceful timeout,
    mid-response, logging a traceback. The server's own handler still runs after ours. Signals can only be
    handled in the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def drain_then_pass_on(sig: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # this app's loop is closed: a later app restored us
            loop.call_soon_threadsafe(hub.drain)
        handler = previous[sig]
        if callable(handler):
            handler(sig, frame)
        elif handler == signal.SIG_DFL:
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)

    for sig in previous:
        signal.signal(sig, drain_then_pass_on)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is drain_then_pass_on:
                signal.signal(sig, handler)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    secret_key = resolve_secret_key(settings)
    require_bus_database(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(
            create_engine(
                settings.database_url,
                pool_size=settings.database_pool_size,
                timeout=settings.database_timeout_seconds,
            )
        )
        bus = build_bus(settings)
        tokens = TokenIssuer(
            secret_key,
            access_ttl_seconds=settings.access_token_ttl_seconds,
            stream_ttl_seconds=settings.stream_token_ttl_seconds,
        )
        hub = StreamHub(
            database,
            encode=encode_event,
            queue_size=settings.sse_queue_size,
            poll_seconds=settings.event_poll_seconds,
        )
        pruner = RetentionPruner(
            database,
            event_retention=timedelta(days=settings.event_retention_days),
            delta_retention=timedelta(seconds=settings.delta_retention_seconds),
            login_window=timedelta(seconds=settings.login_window_seconds),
            # Often enough that failed logins, a flood of them included, outlive their window only briefly.
            interval_seconds=min(settings.event_prune_interval_seconds, settings.login_window_seconds),
        )
        appender = MessageAppender(partial(UnitOfWork, database), bus)
        deltas = DeltaWriter(partial(UnitOfWork, database), bus)
        sweeper = IdleReplySweeper(
            partial(UnitOfWork, database),
            bus,
            idle_timeout=timedelta(seconds=settings.stream_idle_timeout_seconds),
            # A reply fails within a quarter of the timeout past it; no sweep runs more than twice a minute.
            interval_seconds=min(settings.stream_idle_timeout_seconds / 4, 30.0),
        )
        throttle = LoginThrottle(
            partial(UnitOfWork, database),
            secret_key=secret_key,
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_window_seconds,
        )
        sign_ins = SignInRegistry(
            partial(UnitOfWork, database),
            poll_seconds=settings.event_poll_seconds,
            token_lifetime=timedelta(
                seconds=max(settings.access_token_ttl_seconds, settings.stream_token_ttl_seconds)
            ),
        )
        await hub.start()
        await bus.start(hub.ring)
        sign_ins.start()
        pruner.start()
        appender.start()
        deltas.start()
        sweeper.start()
        app.state.resources = Resources(
            settings=settings,
            database=database,
            bus=bus,
            tokens=tokens,
            hub=hub,
            appender=appender,
            deltas=deltas,
            metrics=metrics,
            throttle=throttle,
            sign_ins=sign_ins,
        )
        if not gc.get_freeze_count():
            # What exists at the first startup (the imported code, this app) lives as long as the process:
            # the collector need never scan it again, so its pauses stay short however many objects open
            # streams add. Only once: a later app (tests make many) would stay frozen after it is gone.
            gc.freeze()
        cut_off_streams = CutOffStreams()
        uvicorn_errors = logging.getLogger("uvicorn.error")
        uvicorn_errors.addFilter(cut_off_streams)
        try:
            with streams_drained_on_exit_signals(hub):
                yield
        finally:
            uvicorn_errors.removeFilter(cut_off_streams)
            await sign_ins.close()
            await sweeper.close()
            await deltas.close()
            await appender.close()
            await pruner.close()
            await bus.close()
            await hub.close()
            await database.dispose()
            metrics.close()

    app = FastAPI(
        title="Threadline",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,
        openapi_tags=[
            {"name": "auth", "description": "Accounts, login, API keys and stream tokens."},
            {"name": "users", "description": "The caller's own account."},
            {"name": "workspaces", "description": "Workspaces shared between users, and their members."},
            {"name": "conversations", "description": "Conversations of any modality in a workspace."},
            {"name": "messages", "description": "The messages of a conversation, numbered by `seq`."},
            {"name": "events", "description": "Server-Sent Event streams of every change, resumable."},
            {"name": "operations", "description": "Health, readiness and metrics."},
        ],
    )
    install_problem_handlers(app)
    install_problem_openapi(app)
    # Requests are matched against the routes in this order, so the busiest come first.
    for router in (
        messages.router,
        replies.router,
        conversations.router,
        conversation_copies.router,
        search.router,
        events.router,
        workspaces.router,
        users.router,
        auth.router,
        operations.router,
        web_router(WebFiles.load()),
    ):
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Inside RequestContextMiddleware (each middleware added wraps those added before it): the request id and
    # the metrics see the request as it came, so it counts under HEAD, not the GET it becomes, by its route.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    # Here rather than in uvicorn, so that it follows the settings and works for any ASGI server.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    return app
