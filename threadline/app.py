"""The composition root: builds the long-lived objects in the lifespan, closes them after, and wires the
routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial
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
from threadline.api.resources import Resources, Services
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
from threadline.database.migrate import SchemaMigrator
from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.events.buses import build_bus
from threadline.events.hub import StreamHub
from threadline.events.retention import RetentionPruner
from threadline.services.auth import AuthService
from threadline.services.conversation_copies import ConversationCopyService
from threadline.services.conversations import ConversationService
from threadline.services.deltas import DeltaWriter
from threadline.services.idle_replies import IdleReplySweeper
from threadline.services.login_throttle import LoginThrottle
from threadline.services.message_appender import MessageAppender
from threadline.services.messages import MessageService
from threadline.services.replies import ReplyService
from threadline.services.search import SearchService
from threadline.services.security import PasswordHasher, TokenIssuer
from threadline.services.sign_ins import SignInRegistry
from threadline.services.streams import StreamService
from threadline.services.users import UserService
from threadline.services.workspaces import WorkspaceService
from threadline.settings import Settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
Threadline is the backend for AI-assistant and chat clients: accounts and API keys, workspaces shared
with roles, conversations of any modality with their messages, and a resumable Server-Sent Events stream
of every change. Errors are RFC 9457 problem documents with a stable `code`.
"""


def resolve_secret_key(settings: Settings) -> str:
    """The key that signs tokens: the configured one, or in development a random one for this process
    (``Settings`` refuses a missing key in production)."""
    if settings.secret_key:
        return settings.secret_key
    logger.warning(
        "THREADLINE_SECRET_KEY is not set: using a random development key; tokens will not survive a restart"
    )
    return secrets.token_urlsafe(32)


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


async def open_resources(
    stack: AsyncExitStack, settings: Settings, *, secret_key: str, metrics: Metrics, migrate: bool = False
) -> Resources:
    """Build and start the app's long-lived objects; ``stack`` closes them, in the reverse order.

    None of them needs the database or the event bus to start: each waits for its service, so a process
    starts (and answers ``/ready`` 503) while either is away.
    """
    database = Database(
        create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            timeout=settings.database_timeout_seconds,
        )
    )
    stack.push_async_callback(database.dispose)
    database.watch_pool(metrics.observe_pool)
    if migrate:
        await _start_migrating(stack, settings, database)
    hub = StreamHub(
        database,
        encode=encode_event,
        queue_size=settings.sse_queue_size,
        poll_seconds=settings.event_poll_seconds,
    )
    await hub.start()
    stack.push_async_callback(hub.close)
    bus = build_bus(settings)
    await bus.start(metrics.counting_rings(hub.ring))
    stack.push_async_callback(bus.close)
    new_unit_of_work = partial(UnitOfWork, database, announce=bus.ring, count_events=metrics.count_events)
    stack.callback(metrics.close)
    writers = _start_background(stack, settings, database, new_unit_of_work, metrics)
    services = _services(settings, new_unit_of_work, hub, writers, secret_key=secret_key)
    return Resources(
        settings=settings, database=database, bus=bus, hub=hub, metrics=metrics, services=services
    )


async def _start_migrating(stack: AsyncExitStack, settings: Settings, database: Database) -> None:
    """Apply pending migrations, waiting for them only if the database answers: otherwise they are applied
    in the background once it does, and until then the database refuses its units of work."""
    migrator = SchemaMigrator(
        database,
        settings.database_url,
        search_language=settings.search_language,
        retry_seconds=settings.event_poll_seconds,
    )
    migrator.start()
    stack.push_async_callback(migrator.close)
    await migrator.first_attempt()


def _services(
    settings: Settings,
    new_unit_of_work: UnitOfWorkFactory,
    hub: StreamHub,
    writers: _Writers,
    *,
    secret_key: str,
) -> Services:
    """The use cases, built once: they keep no state of a request's."""
    hasher = PasswordHasher(
        time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib
    )
    tokens = TokenIssuer(
        secret_key,
        access_ttl_seconds=settings.access_token_ttl_seconds,
        stream_ttl_seconds=settings.stream_token_ttl_seconds,
    )
    throttle = LoginThrottle(
        new_unit_of_work,
        secret_key=secret_key,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
    )
    auth = AuthService(
        new_unit_of_work, hasher=hasher, tokens=tokens, throttle=throttle, sign_ins=writers.sign_ins
    )
    return Services(
        auth=auth,
        users=UserService(new_unit_of_work, hasher=hasher, sign_ins=writers.sign_ins),
        workspaces=WorkspaceService(new_unit_of_work),
        conversations=ConversationService(new_unit_of_work),
        conversation_copies=ConversationCopyService(new_unit_of_work),
        search=SearchService(new_unit_of_work, relevance_window=settings.search_relevance_window),
        messages=MessageService(new_unit_of_work, writers.appender),
        replies=ReplyService(new_unit_of_work, writers.deltas),
        streams=StreamService(new_unit_of_work, hub),
    )


@dataclass(frozen=True)
class _Writers:
    appender: MessageAppender
    deltas: DeltaWriter
    sign_ins: SignInRegistry


def _start_background(
    stack: AsyncExitStack,
    settings: Settings,
    database: Database,
    new_unit_of_work: UnitOfWorkFactory,
    metrics: Metrics,
) -> _Writers:
    """Start the tasks that write or poll in the background; ``stack`` closes each."""
    writers = _Writers(
        appender=MessageAppender(new_unit_of_work, observer=metrics.batches("messages")),
        deltas=DeltaWriter(new_unit_of_work, observer=metrics.batches("deltas")),
        sign_ins=SignInRegistry(
            new_unit_of_work,
            poll_seconds=settings.event_poll_seconds,
            token_lifetime=timedelta(
                seconds=max(settings.access_token_ttl_seconds, settings.stream_token_ttl_seconds)
            ),
        ),
    )
    pruner = RetentionPruner(
        database,
        event_retention=timedelta(days=settings.event_retention_days),
        delta_retention=timedelta(seconds=settings.delta_retention_seconds),
        login_window=timedelta(seconds=settings.login_window_seconds),
        # Often enough that failed logins, a flood of them included, outlive their window only briefly.
        interval_seconds=min(settings.event_prune_interval_seconds, settings.login_window_seconds),
    )
    sweeper = IdleReplySweeper(
        new_unit_of_work,
        idle_timeout=timedelta(seconds=settings.stream_idle_timeout_seconds),
        # A reply fails within a quarter of the timeout past it; no sweep runs more than twice a minute.
        interval_seconds=min(settings.stream_idle_timeout_seconds / 4, 30.0),
    )
    for task in (writers.sign_ins, pruner, writers.appender, writers.deltas, sweeper):
        task.start()
        stack.push_async_callback(task.close)
    return writers


@cache
def _freeze_startup_objects() -> None:
    """What exists at the first startup (the imported code, this app) lives as long as the process: the
    collector need never scan it again, so its pauses stay short however many objects open streams add.
    Once per process (``cache``): a later app (tests make many) would stay frozen after it is gone, and
    ``gc.get_freeze_count()`` would walk every frozen object to answer (23 ms an app start in tests)."""
    gc.freeze()


@contextmanager
def _cut_off_streams_unlogged() -> Iterator[None]:
    """Keep uvicorn from logging an error for each stream cut off for reading too slowly."""
    cut_off_streams = CutOffStreams()
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addFilter(cut_off_streams)
    try:
        yield
    finally:
        uvicorn_errors.removeFilter(cut_off_streams)


def create_served_app() -> FastAPI:
    """The app of ``threadline serve`` (uvicorn's factory, called in each worker): it applies pending
    migrations itself, as soon as the database answers."""
    return create_app(migrate=True)


def create_app(settings: Settings | None = None, *, migrate: bool = False) -> FastAPI:
    settings = settings or Settings()
    secret_key = resolve_secret_key(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.resources = await open_resources(
                stack, settings, secret_key=secret_key, metrics=metrics, migrate=migrate
            )
            _freeze_startup_objects()
            stack.enter_context(_cut_off_streams_unlogged())
            stack.enter_context(streams_drained_on_exit_signals(app.state.resources.hub))
            yield

    app = FastAPI(
        title="Threadline",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,
        openapi_tags=OPENAPI_TAGS,
    )
    install_problem_handlers(app)
    install_problem_openapi(app)
    _include_routers(app)
    _add_middleware(app, settings, metrics)
    return app


def _include_routers(app: FastAPI) -> None:
    """Requests are matched against the routes in this order, so the busiest come first."""
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


OPENAPI_TAGS = [
    {"name": "auth", "description": "Accounts, login, API keys and stream tokens."},
    {"name": "users", "description": "The caller's own account."},
    {"name": "workspaces", "description": "Workspaces shared between users, and their members."},
    {"name": "conversations", "description": "Conversations of any modality in a workspace."},
    {"name": "messages", "description": "The messages of a conversation, numbered by `seq`."},
    {"name": "events", "description": "Server-Sent Event streams of every change, resumable."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def _add_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Each middleware added wraps those added before it: the last one added sees a request first."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Inside RequestContextMiddleware: the request id and the metrics see the request as it came, so it
    # counts under HEAD, not the GET it becomes, by its route.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    # Here rather than in uvicorn, so that it follows the settings and works for any ASGI server.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
