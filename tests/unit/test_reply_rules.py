"""The domain rules of a streaming reply: what may follow what, and where a delta may go."""

from __future__ import annotations

from uuid import uuid4

import pytest

from threadline.errors import ValidationFailed
from threadline.models.domain.reply import (
    ENDINGS,
    MAX_CONTENT_LENGTH,
    Delta,
    MessageStatus,
    ReplyConflict,
    check_ending,
    place_delta,
)

ENDED = sorted(ENDINGS)


@pytest.mark.parametrize("ending", ENDED)
def test_a_streaming_reply_may_end_any_way(ending: MessageStatus) -> None:
    assert check_ending(MessageStatus.STREAMING, ending, length=3) is True


@pytest.mark.parametrize("ending", ENDED)
def test_ending_a_reply_the_way_it_ended_repeats_nothing(ending: MessageStatus) -> None:
    assert check_ending(ending, ending, length=3) is False


@pytest.mark.parametrize(("current", "ending"), [(a, b) for a in ENDED for b in ENDED if a != b])
def test_an_ended_reply_never_ends_otherwise(current: MessageStatus, ending: MessageStatus) -> None:
    with pytest.raises(ReplyConflict) as refused:
        check_ending(current, ending, length=7)
    assert (refused.value.status, refused.value.length) == (current, 7)


def test_streaming_is_no_ending() -> None:
    with pytest.raises(ValueError, match="not an ending"):
        check_ending(MessageStatus.STREAMING, MessageStatus.STREAMING, length=0)


def delta(offset: int, text: str) -> Delta:
    return Delta(conversation_id=uuid4(), message_id=uuid4(), offset=offset, text=text)


def test_a_delta_at_the_stored_length_extends_the_reply() -> None:
    assert place_delta(5, delta(5, "abc"), None) is True


def test_a_delta_repeating_stored_text_is_a_repeat() -> None:
    assert place_delta(8, delta(5, "abc"), "abc") is False


@pytest.mark.parametrize(("offset", "stored"), [(6, None), (4, "xbc"), (5, "ab")])
def test_a_delta_anywhere_else_conflicts_naming_the_length(offset: int, stored: str | None) -> None:
    with pytest.raises(ReplyConflict) as refused:
        place_delta(5 if stored is None else 7, delta(offset, "abc"), stored)
    assert refused.value.status is MessageStatus.STREAMING
    assert refused.value.length == (5 if stored is None else 7)


def test_a_delta_may_not_take_the_reply_past_the_limit() -> None:
    assert place_delta(MAX_CONTENT_LENGTH - 1, delta(MAX_CONTENT_LENGTH - 1, "x"), None) is True
    with pytest.raises(ValidationFailed):
        place_delta(MAX_CONTENT_LENGTH - 1, delta(MAX_CONTENT_LENGTH - 1, "xy"), None)
