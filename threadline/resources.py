"""The long-lived objects of one running app, built once in its lifespan and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from threadline.api.metrics import Metrics
from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.events.bus import EventBus
from threadline.events.hub import StreamHub
from threadline.services.login_throttle import LoginThrottle
from threadline.services.message_appender import MessageAppender
from threadline.services.security import PasswordHasher, TokenIssuer
from threadline.settings import Settings


@dataclass
class Resources:
    settings: Settings
    database: Database
    bus: EventBus
    tokens: TokenIssuer
    hub: StreamHub
    appender: MessageAppender
    metrics: Metrics
    hasher: PasswordHasher = field(init=False)
    throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        self.hasher = PasswordHasher(
            time_cost=self.settings.password_hash_time_cost, memory_kib=self.settings.password_hash_memory_kib
        )
        self.throttle = LoginThrottle(
            partial(UnitOfWork, self.database),
            max_failures=self.settings.login_max_failures,
            window_seconds=self.settings.login_window_seconds,
        )
