"""Where a stream resumes from ``Last-Event-ID``, and when it must answer ``reset`` instead (API.md §6, 4)."""

from __future__ import annotations

import pytest

from threadline.services.streams import resume_point


@pytest.mark.parametrize(
    ("last_event_id", "oldest", "newest", "live_after", "expected"),
    [
        (None, 10, 50, 50, 50),
        (None, 10, 53, 50, 53),
        ("20", 10, 50, 50, 20),
        ("9", 10, 50, 50, 9),
        ("50", 10, 50, 50, 50),
        ("55", 10, 50, 55, 55),
        ("40", None, None, 40, 40),
    ],
    ids=[
        "fresh",
        "fresh-hub-behind-the-log",
        "kept",
        "just-before-oldest",
        "newest",
        "hub-ahead-of-read",
        "pruned-empty-at-cursor",
    ],
)
def test_a_known_id_resumes_right_after_it(
    last_event_id: str | None, oldest: int | None, newest: int | None, live_after: int, expected: int
) -> None:
    """``newest`` is the log's when the stream opened, ``live_after`` the hub's cursor then."""
    replay_through = max(newest or 0, live_after)
    assert resume_point(last_event_id, oldest=oldest, replay_through=replay_through) == (expected, None)


@pytest.mark.parametrize(
    ("last_event_id", "oldest", "newest", "live_after", "reason"),
    [
        ("abc", 10, 50, 50, "not an event id"),
        ("-1", 10, 50, 50, "not an event id"),
        ("1e3", 10, 50, 50, "not an event id"),
        ("١٢", 10, 50, 50, "not an event id"),
        ("9" * 40, 10, 50, 50, "not an event id"),
        ("51", 10, 50, 50, "newer than the newest"),
        ("41", None, None, 40, "newer than the newest"),
        ("8", 10, 50, 50, "older than the oldest"),
        ("39", None, None, 40, "older than the oldest"),
        ("54", 10, 53, 50, "newer than the newest"),
    ],
)
def test_an_unusable_id_resets_and_continues_live(
    last_event_id: str, oldest: int | None, newest: int | None, live_after: int, reason: str
) -> None:
    replay_through = max(newest or 0, live_after)
    resume_after, reset_reason = resume_point(last_event_id, oldest=oldest, replay_through=replay_through)

    assert resume_after == replay_through
    assert reset_reason is not None
    assert reason in reset_reason
