"""The hub's routing: each event reaches exactly the streams that may see it, and membership events change
who may see what (API.md §6, guarantee 5)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from threadline.events.routing import (
    CONVERSATION_DELETED,
    MEMBERSHIP_ENDED,
    WORKSPACE_DELETED,
    SubscriberIndex,
)
from threadline.events.subscription import Frame, StreamKind, Subscription
from threadline.models.domain.event import Event, EventType

_ids = itertools.count(1)
W, OTHER_W = uuid4(), uuid4()
C, OTHER_C = uuid4(), uuid4()
ALICE, BOB = uuid4(), uuid4()


def event(
    kind: EventType, workspace_id: UUID = W, conversation_id: UUID | None = None, subject: UUID | None = None
) -> Event:
    return Event(
        id=next(_ids),
        type=kind,
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        actor_id=ALICE,
        subject_user_id=subject,
        data={},
        created_at=datetime.now(UTC),
    )


def message(conversation_id: UUID = C, workspace_id: UUID = W) -> Event:
    return event(EventType.MESSAGE_CREATED, workspace_id, conversation_id)


def subscribe(
    index: SubscriberIndex,
    kind: StreamKind,
    user_id: UUID = ALICE,
    topic_id: UUID | None = None,
    workspace_ids: set[UUID] | None = None,
    capacity: int = 100,
) -> Subscription:
    """An activated subscription, as the stream service leaves it."""
    subscription = Subscription(kind, user_id=user_id, topic_id=topic_id, capacity=capacity)
    index.add(subscription)
    index.activate(subscription, workspace_ids if workspace_ids is not None else {W}, as_of=0)
    subscription.skip_through(0)  # as the hub does on activating it: nothing to replay
    return subscription


def deliver(index: SubscriberIndex, *events: Event) -> None:
    for item in events:
        index.deliver(item, Frame(item.id, b""))


def received(subscription: Subscription) -> list[int]:
    """Ids queued for the subscription (draining it as the stream would)."""
    return [frame.event_id for frame in subscription._frames]


@pytest.fixture
def index() -> SubscriberIndex:
    return SubscriberIndex()


def test_an_event_reaches_its_conversation_workspace_and_member_streams_only(index: SubscriberIndex) -> None:
    conversation = subscribe(index, StreamKind.CONVERSATION, topic_id=C)
    workspace = subscribe(index, StreamKind.WORKSPACE, topic_id=W)
    user = subscribe(index, StreamKind.USER)
    elsewhere = [
        subscribe(index, StreamKind.CONVERSATION, topic_id=OTHER_C),
        subscribe(index, StreamKind.WORKSPACE, topic_id=OTHER_W, workspace_ids={OTHER_W}),
        subscribe(index, StreamKind.USER, user_id=BOB, workspace_ids={OTHER_W}),
    ]

    posted = message()
    deliver(index, posted)

    assert received(conversation) == received(workspace) == received(user) == [posted.id]
    assert all(received(subscription) == [] for subscription in elsewhere)


def test_workspace_events_skip_conversation_streams(index: SubscriberIndex) -> None:
    conversation = subscribe(index, StreamKind.CONVERSATION, topic_id=C)
    workspace = subscribe(index, StreamKind.WORKSPACE, topic_id=W)

    updated = event(EventType.WORKSPACE_UPDATED)
    deliver(index, updated)

    assert received(conversation) == []
    assert received(workspace) == [updated.id]


def test_a_user_stream_starts_with_the_workspace_that_adds_the_user(index: SubscriberIndex) -> None:
    bob = subscribe(index, StreamKind.USER, user_id=BOB, workspace_ids=set())

    added = event(EventType.MEMBER_ADDED, subject=BOB)
    posted = message()
    deliver(index, message(), added, posted)

    assert received(bob) == [added.id, posted.id]


def test_removal_ends_the_members_workspace_and_conversation_streams(index: SubscriberIndex) -> None:
    bob_user = subscribe(index, StreamKind.USER, user_id=BOB)
    bob_workspace = subscribe(index, StreamKind.WORKSPACE, user_id=BOB, topic_id=W)
    bob_conversation = subscribe(index, StreamKind.CONVERSATION, user_id=BOB, topic_id=C)
    bob_elsewhere = subscribe(
        index, StreamKind.WORKSPACE, user_id=BOB, topic_id=OTHER_W, workspace_ids={OTHER_W}
    )
    alice_conversation = subscribe(index, StreamKind.CONVERSATION, topic_id=C)

    removed = event(EventType.MEMBER_REMOVED, subject=BOB)
    posted = message()
    deliver(index, removed, posted)

    assert received(bob_user) == [removed.id]
    assert received(bob_workspace) == [removed.id]
    assert bob_workspace.end_reason == bob_conversation.end_reason == MEMBERSHIP_ENDED
    assert received(bob_conversation) == []
    assert not bob_user.closed
    assert not bob_elsewhere.closed
    assert received(alice_conversation) == [posted.id]


def test_a_deleted_workspace_ends_its_streams_and_leaves_user_streams_open(index: SubscriberIndex) -> None:
    workspace = subscribe(index, StreamKind.WORKSPACE, topic_id=W)
    user = subscribe(index, StreamKind.USER, workspace_ids={W, OTHER_W})

    deleted = event(EventType.WORKSPACE_DELETED)
    deliver(index, deleted, message(), message(OTHER_C, OTHER_W))

    assert received(workspace) == [deleted.id]
    assert workspace.end_reason == WORKSPACE_DELETED
    assert received(user)[0] == deleted.id
    assert len(received(user)) == 2
    assert not user.closed


def test_a_deleted_workspace_ends_the_streams_of_its_conversations_for_that_reason(
    index: SubscriberIndex,
) -> None:
    inside = subscribe(index, StreamKind.CONVERSATION, topic_id=C)
    elsewhere = subscribe(index, StreamKind.CONVERSATION, topic_id=OTHER_C, workspace_ids={OTHER_W})

    deliver(index, event(EventType.WORKSPACE_DELETED), event(EventType.MEMBER_REMOVED, subject=ALICE))

    assert inside.end_reason == WORKSPACE_DELETED
    assert not elsewhere.closed


def test_a_deleted_conversation_is_delivered_then_ends_its_streams(index: SubscriberIndex) -> None:
    conversation = subscribe(index, StreamKind.CONVERSATION, topic_id=C)

    deleted = event(EventType.CONVERSATION_DELETED, conversation_id=C)
    deliver(index, deleted, message())

    assert received(conversation) == [deleted.id]
    assert conversation.end_reason == CONVERSATION_DELETED


def test_membership_changes_heard_before_activation_win_over_the_authorisation_read(
    index: SubscriberIndex,
) -> None:
    conversation = Subscription(StreamKind.CONVERSATION, user_id=BOB, topic_id=C, capacity=10)
    user = Subscription(StreamKind.USER, user_id=BOB, topic_id=None, capacity=10)
    index.add(conversation)
    index.add(user)

    read_at = next(_ids)
    deliver(
        index,
        event(EventType.MEMBER_REMOVED, subject=BOB),
        event(EventType.MEMBER_ADDED, OTHER_W, subject=BOB),
    )
    # The authorisation read happened before those changes: it still saw Bob in W, not yet in OTHER_W.
    index.activate(conversation, {W}, as_of=read_at)
    index.activate(user, {W}, as_of=read_at)

    assert conversation.end_reason == MEMBERSHIP_ENDED
    assert user.workspace_ids == {OTHER_W}


def test_access_changes_no_newer_than_the_authorisation_read_change_nothing(index: SubscriberIndex) -> None:
    """The hub may read the log later than a stream's authorisation did (it lags, or another process wrote):
    changes the read already reflects must not change the stream again, heard before activation or after."""
    removed, added = event(EventType.MEMBER_REMOVED, subject=BOB), event(EventType.MEMBER_ADDED, subject=BOB)
    kinds = [(StreamKind.WORKSPACE, W), (StreamKind.CONVERSATION, C), (StreamKind.USER, None)]
    early = [Subscription(kind, user_id=BOB, topic_id=topic, capacity=10) for kind, topic in kinds]
    late = [Subscription(kind, user_id=BOB, topic_id=topic, capacity=10) for kind, topic in kinds]
    for subscription in early:
        index.add(subscription)
    deliver(index, removed, added)
    for subscription in late:
        index.add(subscription)
    # Both authorisation reads saw the log up to the re-adding: Bob a member of W.
    for subscription in early + late:
        index.activate(subscription, {W}, as_of=added.id)
        subscription.skip_through(added.id)
    deliver(index, removed, added)

    later = message()
    deliver(index, later)
    for subscription in early + late:
        assert not subscription.closed
        assert subscription.workspace_ids == {W}
        assert received(subscription)[-1] == later.id


def test_an_access_change_newer_than_the_authorisation_read_still_applies(index: SubscriberIndex) -> None:
    workspace = Subscription(StreamKind.WORKSPACE, user_id=BOB, topic_id=W, capacity=10)
    user = Subscription(StreamKind.USER, user_id=BOB, topic_id=None, capacity=10)
    index.add(workspace)
    index.add(user)
    read_at = next(_ids)
    index.activate(workspace, {W}, as_of=read_at)
    index.activate(user, {W}, as_of=read_at)

    deliver(index, event(EventType.MEMBER_REMOVED, subject=BOB))

    assert workspace.end_reason == MEMBERSHIP_ENDED
    assert user.workspace_ids == set()


def test_a_full_queue_aborts_only_its_own_subscription(index: SubscriberIndex) -> None:
    slow = subscribe(index, StreamKind.CONVERSATION, topic_id=C, capacity=2)
    healthy = subscribe(index, StreamKind.CONVERSATION, topic_id=C)

    deliver(index, message(), message(), message(), message())

    assert slow.abort_reason is not None
    assert len(received(slow)) == 2
    assert len(received(healthy)) == 4
    index.remove(healthy)
    assert index.is_empty(), "the slow subscription was left routed"


def test_removing_subscriptions_empties_every_index(index: SubscriberIndex) -> None:
    subscriptions = [
        subscribe(index, StreamKind.CONVERSATION, topic_id=C),
        subscribe(index, StreamKind.WORKSPACE, topic_id=W),
        subscribe(index, StreamKind.USER, workspace_ids={W, OTHER_W}),
    ]
    deliver(index, event(EventType.MEMBER_ADDED, OTHER_W, subject=BOB))

    for subscription in subscriptions * 2:
        index.remove(subscription)

    assert index.is_empty()
