"""Bad input to the conversation endpoints is a 422 problem, never a 500; the limits themselves pass."""

from __future__ import annotations

from tests.support.accounts import Account
from tests.support.conversations import create_conversation
from tests.support.invalid import BAD_METADATA, assert_validation_problem, nested
from tests.support.teams import create_workspace

BAD_CREATE_BODIES: dict[str, object] = {
    "title too long": {"title": "x" * 201},
    "NUL in title": {"title": "a\x00b"},
    "title not a string": {"title": 5},
    "modality upper-case": {"modality": "Chat"},
    "modality starting with a digit": {"modality": "1chat"},
    "modality empty": {"modality": ""},
    "modality too long": {"modality": "a" * 33},
    "modality with a space": {"modality": "voice call"},
    "modality with a trailing newline": {"modality": "chat\n"},
    "unknown field": {"color": "red"},
    "not an object": ["title"],
    **{f"metadata {name}": {"metadata": value} for name, value in BAD_METADATA.items()},
}

BAD_UPDATE_BODIES: dict[str, object] = {
    "modality cannot change": {"modality": "voice"},
    "title too long": {"title": "x" * 201},
    "NUL in title": {"title": "\x00"},
    "unknown field": {"message_count": 0},
    **{f"metadata {name}": {"metadata": value} for name, value in BAD_METADATA.items()},
}

BAD_LIST_QUERIES: dict[str, dict[str, object]] = {
    "modality malformed": {"modality": "Voice"},
    "limit zero": {"limit": 0},
    "limit too large": {"limit": 201},
    "limit not a number": {"limit": "many"},
    "cursor malformed": {"cursor": "not-a-cursor"},
}


async def test_bad_conversation_bodies_are_refused(alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])

    for case, body in BAD_CREATE_BODIES.items():
        response = await alice.post(f"/v1/workspaces/{workspace['id']}/conversations", json=body)
        assert_validation_problem(response, case)
    for case, body in BAD_UPDATE_BODIES.items():
        response = await alice.patch(f"/v1/conversations/{conversation['id']}", json=body)
        assert_validation_problem(response, case)
    listed = await alice.get(f"/v1/workspaces/{workspace['id']}/conversations")
    assert [item["id"] for item in listed.json()["items"]] == [conversation["id"]]


async def test_bad_queries_are_refused(alice: Account) -> None:
    workspace = await create_workspace(alice)
    conversation = await create_conversation(alice, workspace["id"])

    for case, params in BAD_LIST_QUERIES.items():
        response = await alice.get(f"/v1/workspaces/{workspace['id']}/conversations", params=params)
        assert_validation_problem(response, case)
    for include in ("message", "members", "", "messages,members"):
        response = await alice.get(f"/v1/conversations/{conversation['id']}", params={"include": include})
        assert_validation_problem(response, include)


async def test_malformed_ids_are_refused(alice: Account) -> None:
    for bad_id in ("123", "not-a-uuid", "00000000-0000-0000-0000-00000000000g"):
        for method in ("GET", "PATCH", "DELETE"):
            response = await alice.request(method, f"/v1/conversations/{bad_id}", json={})
            assert_validation_problem(response, (method, bad_id))
        for method in ("GET", "POST"):
            response = await alice.request(method, f"/v1/workspaces/{bad_id}/conversations", json={})
            assert_validation_problem(response, (method, bad_id))


async def test_the_limits_themselves_are_accepted(alice: Account) -> None:
    workspace = await create_workspace(alice)

    conversation = await create_conversation(
        alice, workspace["id"], title="x" * 200, modality="a" + "b-_9" * 7 + "zzz", metadata=nested(10)
    )

    assert len(conversation["title"]) == 200
    assert len(conversation["modality"]) == 32
    assert conversation["metadata"] == nested(10)
