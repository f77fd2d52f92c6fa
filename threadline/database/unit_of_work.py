"""The unit of work: one transaction, the repositories that share it, and one explicit commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.database.engine import Database
from threadline.database.repositories.access import ResourceAccessRepository
from threadline.database.repositories.api_keys import ApiKeyRepository
from threadline.database.repositories.conversations import ConversationRepository
from threadline.database.repositories.events import EventRepository
from threadline.database.repositories.idempotency import IdempotencyRepository
from threadline.database.repositories.login_failures import LoginFailureRepository
from threadline.database.repositories.messages import MessageRepository
from threadline.database.repositories.replies import ReplyRepository
from threadline.database.repositories.search import SearchRepository
from threadline.database.repositories.sign_ins import SignInRepository
from threadline.database.repositories.users import UserRepository
from threadline.database.repositories.workspaces import MemberRepository, WorkspaceRepository
from threadline.errors import Unavailable
from threadline.models.domain.event import EventType

logger = logging.getLogger(__name__)

Announce = Callable[[int], None]
"""Told the id of the last event a transaction logged, once it has committed: the event bus's ``ring``,
which never blocks."""


CountEvents = Callable[[Mapping[EventType, int]], None]
"""Told how many events of each type a transaction logged, once it has committed: the metrics' counter."""


def _announce_nothing(event_id: int) -> None:
    """For units of work whose events no stream needs to hear of at once (the hubs' polls find them)."""


def _count_nothing(logged: Mapping[EventType, int]) -> None:
    """For units of work outside an app (tests, scripts): no metrics to keep."""


class UnitOfWork:
    """Used as ``async with new_unit_of_work() as uow: ...; await uow.commit()``; leaving the block without
    a commit rolls back. A commit that logged events announces the last of them (rings the bus) itself.

    A service method opens one per use case, so the transaction (and on SQLite the write lock) is held
    only for the use case itself, never while a response is sent.
    """

    users: UserRepository
    api_keys: ApiKeyRepository
    sign_ins: SignInRepository
    workspaces: WorkspaceRepository
    members: MemberRepository
    access: ResourceAccessRepository
    conversations: ConversationRepository
    messages: MessageRepository
    replies: ReplyRepository
    search: SearchRepository
    idempotency: IdempotencyRepository
    login_failures: LoginFailureRepository
    events: EventRepository

    def __init__(
        self,
        database: Database,
        *,
        announce: Announce = _announce_nothing,
        count_events: CountEvents = _count_nothing,
    ) -> None:
        self._database = database
        self._announce = announce
        self._count_events = count_events
        self._stack: AsyncExitStack | None = None
        self._session: AsyncSession | None = None
        self._committed = False

    async def __aenter__(self) -> Self:
        assert self._stack is None, "a unit of work is not re-entrant"
        if not self._database.schema_ready:
            raise Unavailable("The database is unavailable until its migrations are applied")
        self._stack = AsyncExitStack()
        self._committed = False
        with _unavailable_on_connection_errors():
            session = await self._stack.enter_async_context(self._database.session())
        self._session = session
        self.users = UserRepository(session)
        self.api_keys = ApiKeyRepository(session)
        self.sign_ins = SignInRepository(session)
        self.workspaces = WorkspaceRepository(session)
        self.members = MemberRepository(session)
        self.access = ResourceAccessRepository(session)
        self.conversations = ConversationRepository(session)
        self.messages = MessageRepository(session)
        self.replies = ReplyRepository(session)
        self.search = SearchRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.login_failures = LoginFailureRepository(session)
        self.events = EventRepository(session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the session, which rolls back whatever was not committed."""
        stack, self._stack, self._session = self._stack, None, None
        assert stack is not None
        # The rollback on close is the first to hear of a connection that died after the last statement.
        # Once the commit went through, though, the work is done: answering with any error would have a
        # client retry, and store its change twice.
        try:
            with _unavailable_on_connection_errors():
                await stack.aclose()
        except Exception:
            if not self._committed:
                raise
            logger.warning("closing the connection of a committed transaction failed", exc_info=True)
        if exc is not None and _is_connection_error(exc):
            raise Unavailable("The database is unavailable") from exc

    async def use_one_snapshot(self) -> None:
        """Make every read of this unit of work see the database as of one moment; call it first.

        PostgreSQL's READ COMMITTED takes a new snapshot for each statement, so two reads that must agree
        (a conversation and its messages) ask for REPEATABLE READ. SQLite runs one transaction at a time
        here, so its reads agree already.
        """
        assert self._session is not None, "use_one_snapshot outside of 'async with'"
        if not self._database.is_sqlite:
            with _unavailable_on_connection_errors():
                await self._session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    async def commit(self) -> None:
        """Commit, then announce the last event logged, if any: streams hear of a change only once it
        is stored, and never wait on a transaction that rolls back."""
        assert self._session is not None, "commit outside of 'async with'"
        with _unavailable_on_connection_errors():
            await self._session.commit()
        self._committed = True
        if (appended := self.events.take_appended()) is not None:  # a second commit: only its own
            self._announce(appended.last_id)
            self._count_events(appended.types)


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""How services get a unit of work: one new one per use case."""


_TRANSIENT_SQLSTATES = {"40001", "40P01"}
"""Serialization failure and deadlock: PostgreSQL aborted the transaction; a retry can succeed."""

_UNAVAILABLE_SQLSTATE_CLASSES = {"08", "53", "57", "3D"}
"""Connection exceptions, insufficient resources (too many connections), operator intervention (shutting
down, starting up, a statement cancelled) and a database that does not exist (dropped, not yet created):
asyncpg raises them on connecting, and SQLAlchemy passes them on as a plain ``DBAPIError``."""


def _is_connection_error(error: BaseException) -> bool:
    """Errors of the database's availability, not of the request: they answer 503, never 500."""
    if isinstance(error, DBAPIError):
        sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
        return (
            error.connection_invalidated
            or isinstance(error, OperationalError | InterfaceError)
            or sqlstate in _TRANSIENT_SQLSTATES
            or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
        )
    # A pool with no free connection within its timeout is as unavailable as a database that is down.
    return isinstance(error, OSError | PoolTimeout)


@contextmanager
def _unavailable_on_connection_errors() -> Iterator[None]:
    try:
        yield
    except (DBAPIError, OSError, PoolTimeout) as error:
        if _is_connection_error(error):
            raise Unavailable("The database is unavailable") from error
        raise
