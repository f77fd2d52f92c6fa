"""Where a stream resumes from ``Last-Event-ID``, and when it must answer ``reset`` instead (API.md §6, 4).

``replay_through`` is the newest event when the stream opened (``StreamHub.activate``, tested with the
hub): the log's newest, or the hub's cursor where it is further.
"""

from __future__ import annotations

import pytest

from threadline.services.streams import resume_point


@pytest.mark.parametrize(
    ("last_event_id", "oldest", "replay_through", "expected"),
    [
        (None, 10, 50, 50),
        ("20", 10, 50, 20),
        ("9", 10, 50, 9),
        ("50", 10, 50, 50),
        ("40", None, 40, 40),
    ],
    ids=["fresh", "kept", "just-before-oldest", "newest", "pruned-empty-at-the-newest"],
)
def test_a_known_id_resumes_right_after_it(
    last_event_id: str | None, oldest: int | None, replay_through: int, expected: int
) -> None:
    assert resume_point(last_event_id, oldest=oldest, replay_through=replay_through) == (expected, None)


@pytest.mark.parametrize(
    ("last_event_id", "oldest", "replay_through", "reason"),
    [
        ("abc", 10, 50, "not an event id"),
        ("-1", 10, 50, "not an event id"),
        ("1e3", 10, 50, "not an event id"),
        ("١٢", 10, 50, "not an event id"),
        ("9" * 40, 10, 50, "not an event id"),
        ("51", 10, 50, "newer than the newest"),
        ("41", None, 40, "newer than the newest"),
        ("8", 10, 50, "older than the oldest"),
        ("39", None, 40, "older than the oldest"),
    ],
)
def test_an_unusable_id_resets_and_continues_live(
    last_event_id: str, oldest: int | None, replay_through: int, reason: str
) -> None:
    resume_after, reset_reason = resume_point(last_event_id, oldest=oldest, replay_through=replay_through)

    assert resume_after == replay_through
    assert reset_reason is not None
    assert reason in reset_reason
