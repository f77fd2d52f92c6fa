"""The long-lived objects of one running app, built once in its lifespan and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass, field

from threadline.api.metrics import Metrics
from threadline.database.engine import Database
from threadline.events.bus import EventBus
from threadline.events.hub import StreamHub
from threadline.services.deltas import DeltaWriter
from threadline.services.login_throttle import LoginThrottle
from threadline.services.message_appender import MessageAppender
from threadline.services.security import PasswordHasher, TokenIssuer
from threadline.services.sign_ins import SignInRegistry
from threadline.settings import Settings


@dataclass
class Resources:
    settings: Settings
    database: Database
    bus: EventBus
    tokens: TokenIssuer
    hub: StreamHub
    appender: MessageAppender
    deltas: DeltaWriter
    metrics: Metrics
    throttle: LoginThrottle
    sign_ins: SignInRegistry
    hasher: PasswordHasher = field(init=False)

    def __post_init__(self) -> None:
        self.hasher = PasswordHasher(
            time_cost=self.settings.password_hash_time_cost, memory_kib=self.settings.password_hash_memory_kib
        )
