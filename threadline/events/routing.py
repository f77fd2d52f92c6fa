"""Who hears which event: the hub's indexes of subscriptions, and the access rules membership events apply.

Subscriptions are indexed by conversation, by workspace and by user, so an event costs O(its audience),
not O(every open stream).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from uuid import UUID

from threadline.events.subscription import Frame, StreamKind, Subscription
from threadline.models.domain.event import Event, EventType

MEMBERSHIP_ENDED = "membership ended"
WORKSPACE_DELETED = "workspace deleted"
CONVERSATION_DELETED = "conversation deleted"

_MEMBERSHIP_TYPES = (EventType.MEMBER_ADDED, EventType.MEMBER_REMOVED)

logger = logging.getLogger(__name__)

_Index = dict[UUID, set[Subscription]]


class SubscriberIndex:
    """Routes each event to the subscriptions that may see it, then applies what it changes about access."""

    def __init__(self) -> None:
        self._by_conversation: _Index = {}
        self._by_workspace: _Index = {}
        """Workspace streams and users' own streams: both hear every event of the workspace."""
        self._by_user: _Index = {}
        """Every subscription of a user, for the membership events that change what it may see."""
        self._pending: set[Subscription] = set()
        """Subscriptions still being authorised, for the workspace deletions they must hear of."""

    def add(self, subscription: Subscription) -> None:
        if subscription.pending_access is not None:
            self._pending.add(subscription)
        _put(self._by_user, subscription.user_id, subscription)
        for index, key in self._places(subscription):
            _put(index, key, subscription)

    def remove(self, subscription: Subscription) -> None:
        """Forget the subscription everywhere; removing it twice is harmless."""
        self._pending.discard(subscription)
        if not _pop(self._by_user, subscription.user_id, subscription):
            return
        for index, key in self._places(subscription):
            _pop(index, key, subscription)

    def activate(self, subscription: Subscription, workspace_ids: Collection[UUID], *, as_of: int) -> None:
        """Complete a subscription with the workspaces its authorisation found at log position ``as_of``.

        The hub may lag the log or run ahead of that read (another process wrote), so a membership change
        counts only if its event is newer than ``as_of``: older ones are in the read already, newer ones
        (heard meanwhile or later) win over it.
        """
        self._pending.discard(subscription)
        changes, subscription.pending_access = subscription.pending_access or {}, None
        subscription.as_of = as_of
        if subscription.closed:
            return
        later = {workspace_id: change for workspace_id, change in changes.items() if change.id > as_of}
        member = {
            workspace_id: change.type is EventType.MEMBER_ADDED for workspace_id, change in later.items()
        }
        granted = {workspace_id for workspace_id in workspace_ids if member.get(workspace_id, True)}
        granted |= {workspace_id for workspace_id, joined in member.items() if joined}
        if subscription.kind is StreamKind.USER:
            for workspace_id in granted:
                self._grant(subscription, workspace_id)
        elif set(workspace_ids) <= granted:
            subscription.workspace_ids.update(workspace_ids)
        else:
            deleted = {
                workspace_id
                for workspace_id, change in later.items()
                if change.type is EventType.WORKSPACE_DELETED
            }
            self._end(subscription, WORKSPACE_DELETED if deleted & set(workspace_ids) else MEMBERSHIP_ENDED)

    def deliver(self, event: Event, frame: Frame) -> None:
        overflowed = [subscription for subscription in self._audience(event) if not subscription.offer(frame)]
        for subscription in overflowed:
            logger.info(
                "closing a %s stream of user %s: it fell too far behind",
                subscription.kind,
                subscription.user_id,
            )
            self.remove(subscription)
        self._apply_access_change(event)

    def is_empty(self) -> bool:
        return not (self._by_user or self._by_workspace or self._by_conversation)

    def _places(self, subscription: Subscription) -> list[tuple[_Index, UUID]]:
        """Where the subscription is indexed, besides under its user: what it hears events by."""
        if subscription.kind is StreamKind.CONVERSATION:
            assert subscription.topic_id is not None
            return [(self._by_conversation, subscription.topic_id)]
        return [(self._by_workspace, workspace_id) for workspace_id in subscription.workspace_ids]

    def _audience(self, event: Event) -> Iterator[Subscription]:
        if event.conversation_id is not None:
            yield from self._by_conversation.get(event.conversation_id, ())
        workspace_streams = self._by_workspace.get(event.workspace_id, set())
        yield from workspace_streams
        if event.subject_user_id is not None:
            # A user's own stream hears their membership changes even in a workspace it does not follow.
            for subscription in self._by_user.get(event.subject_user_id, ()):
                if subscription.kind is StreamKind.USER and subscription not in workspace_streams:
                    yield subscription

    def _apply_access_change(self, event: Event) -> None:
        if event.type in _MEMBERSHIP_TYPES and event.subject_user_id is not None:
            self._membership_changed(event, event.subject_user_id)
        elif event.type is EventType.WORKSPACE_DELETED:
            for subscription in self._pending:
                _remember(subscription, event)
            for subscription in _newer_than_its_read(event, self._by_workspace.get(event.workspace_id, ())):
                if subscription.kind is StreamKind.USER:
                    self._withdraw(subscription, event.workspace_id)
                else:
                    self._end(subscription, WORKSPACE_DELETED)
            # Conversation streams are indexed by conversation; a workspace is deleted rarely enough to look
            # through them all, so that they too end for the reason that is true.
            in_workspace = [
                subscription
                for subscriptions in self._by_conversation.values()
                for subscription in subscriptions
                if event.workspace_id in subscription.workspace_ids
            ]
            for subscription in _newer_than_its_read(event, in_workspace):
                self._end(subscription, WORKSPACE_DELETED)
        elif event.type is EventType.CONVERSATION_DELETED and event.conversation_id is not None:
            for subscription in _newer_than_its_read(
                event, self._by_conversation.get(event.conversation_id, ())
            ):
                self._end(subscription, CONVERSATION_DELETED)

    def _membership_changed(self, event: Event, user_id: UUID) -> None:
        workspace_id, member = event.workspace_id, event.type is EventType.MEMBER_ADDED
        for subscription in _newer_than_its_read(event, self._by_user.get(user_id, ())):
            if subscription.pending_access is not None:
                _remember(subscription, event)
            elif subscription.kind is StreamKind.USER:
                if member:
                    self._grant(subscription, workspace_id)
                else:
                    self._withdraw(subscription, workspace_id)
            elif not member and workspace_id in subscription.workspace_ids:
                self._end(subscription, MEMBERSHIP_ENDED)

    def _grant(self, subscription: Subscription, workspace_id: UUID) -> None:
        subscription.workspace_ids.add(workspace_id)
        _put(self._by_workspace, workspace_id, subscription)

    def _withdraw(self, subscription: Subscription, workspace_id: UUID) -> None:
        subscription.workspace_ids.discard(workspace_id)
        _pop(self._by_workspace, workspace_id, subscription)

    def _end(self, subscription: Subscription, reason: str) -> None:
        subscription.end(reason)
        self.remove(subscription)


def _remember(subscription: Subscription, change: Event) -> None:
    """Keep an access change heard while the subscription is being authorised; a deletion is final."""
    assert subscription.pending_access is not None
    earlier = subscription.pending_access.get(change.workspace_id)
    if earlier is None or earlier.type is not EventType.WORKSPACE_DELETED:
        subscription.pending_access[change.workspace_id] = change


def _newer_than_its_read(event: Event, subscriptions: Collection[Subscription]) -> list[Subscription]:
    """The subscriptions whose access ``event`` may change: its authorisation read came before it (a
    subscription still being authorised has ``as_of`` 0 and records the change until it knows)."""
    return [subscription for subscription in subscriptions if event.id > subscription.as_of]


def _put(index: _Index, key: UUID, subscription: Subscription) -> None:
    index.setdefault(key, set()).add(subscription)


def _pop(index: _Index, key: UUID, subscription: Subscription) -> bool:
    """Remove ``subscription`` under ``key``, dropping the key once empty; whether it was there."""
    subscriptions = index.get(key)
    if subscriptions is None or subscription not in subscriptions:
        return False
    subscriptions.discard(subscription)
    if not subscriptions:
        del index[key]
    return True
