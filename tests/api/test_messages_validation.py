"""Bad input to the message endpoints is a 422 problem, never a 500; the limits themselves pass."""

from __future__ import annotations

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.invalid import BAD_METADATA, assert_validation_problem, nested
from tests.support.teams import create_workspace

BAD_POST_BODIES: dict[str, object] = {
    "no content": {},
    "empty content": {"content": ""},
    "content of 100,001 characters": {"content": "x" * 100_001},
    "NUL in content": {"content": "a\x00b"},
    "content not a string": {"content": 5},
    "content null": {"content": None},
    "unknown role": {"content": "Hi", "role": "robot"},
    "role in capitals": {"content": "Hi", "role": "USER"},
    "unknown field": {"content": "Hi", "seq": 5},
    **{f"metadata {name}": {"content": "Hi", "metadata": value} for name, value in BAD_METADATA.items()},
}

BAD_UPDATE_BODIES: dict[str, object] = {
    "empty content": {"content": ""},
    "content of 100,001 characters": {"content": "x" * 100_001},
    "NUL in content": {"content": "\x00"},
    "role cannot change": {"role": "assistant"},
    **{f"metadata {name}": {"metadata": value} for name, value in BAD_METADATA.items()},
}

BAD_LIST_QUERIES: dict[str, dict[str, object]] = {
    "after and before together": {"after": 1, "before": 3},
    "negative after": {"after": -1},
    "negative before": {"before": -1},
    "after not a number": {"after": "first"},
    "fractional before": {"before": 1.5},
    "whole before written as a decimal": {"before": "3.0"},
    "after with a sign": {"after": "+1"},
    "after padded with spaces": {"after": " 1 "},
    "limit written as a decimal": {"limit": "5.0"},
    "after beyond any seq": {"after": 2**31},
    "limit zero": {"limit": 0},
    "limit too large": {"limit": 201},
}


async def test_bad_message_bodies_are_refused(alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    message = await post_message(alice, conversation["id"])
    path = f"/v1/conversations/{conversation['id']}/messages"

    for case, body in BAD_POST_BODIES.items():
        assert_validation_problem(await alice.post(path, json=body), case)
    for case, body in BAD_UPDATE_BODIES.items():
        assert_validation_problem(await alice.patch(f"{path}/{message['id']}", json=body), case)
    for case, params in BAD_LIST_QUERIES.items():
        assert_validation_problem(await alice.get(path, params=params), case)
    assert (await alice.get(path)).json() == {"items": [message], "has_more": False}


async def test_malformed_ids_are_refused(alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])
    good = f"/v1/conversations/{conversation['id']}/messages"

    for bad_id in ("123", "not-a-uuid"):
        for method in ("GET", "POST"):
            response = await alice.request(
                method, f"/v1/conversations/{bad_id}/messages", json={"content": "x"}
            )
            assert_validation_problem(response, (method, bad_id))
        for method in ("GET", "PATCH", "DELETE"):
            response = await alice.request(method, f"{good}/{bad_id}", json={"content": "x"})
            assert_validation_problem(response, (method, bad_id))


async def test_the_limits_themselves_are_accepted(alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])

    message = await post_message(alice, conversation["id"], "x" * 100_000, metadata=nested(10))

    assert len(message["content"]) == 100_000
    assert message["metadata"] == nested(10)
    listed = await alice.get(
        f"/v1/conversations/{conversation['id']}/messages", params={"limit": 200, "after": 2**31 - 1}
    )
    assert listed.json() == {"items": [], "has_more": False}
