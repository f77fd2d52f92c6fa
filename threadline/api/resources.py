"""The long-lived objects of one running app, built once in its lifespan and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

from threadline.api.metrics import Metrics
from threadline.database.engine import Database
from threadline.events.bus import EventBus
from threadline.events.hub import StreamHub
from threadline.services.auth import AuthService
from threadline.services.conversation_copies import ConversationCopyService
from threadline.services.conversations import ConversationService
from threadline.services.messages import MessageService
from threadline.services.replies import ReplyService
from threadline.services.search import SearchService
from threadline.services.streams import StreamService
from threadline.services.users import UserService
from threadline.services.workspaces import WorkspaceService
from threadline.settings import Settings


@dataclass(frozen=True)
class Services:
    """The use cases, one object each: they keep no state of a request's."""

    auth: AuthService
    users: UserService
    workspaces: WorkspaceService
    conversations: ConversationService
    conversation_copies: ConversationCopyService
    search: SearchService
    messages: MessageService
    replies: ReplyService
    streams: StreamService


@dataclass(frozen=True)
class Resources:
    settings: Settings
    database: Database
    bus: EventBus
    hub: StreamHub
    metrics: Metrics
    services: Services
