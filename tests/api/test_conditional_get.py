"""Conditional GET (ETag / If-None-Match) on message pages and conversations: 304 while nothing changed,
a new tag after any change to what the answer shows, and never a 304 for someone who may not see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import Account
from tests.support.conversations import create_conversation, post_message
from tests.support.replies import cancel, finish, reply_path, start_reply, stream_text
from tests.support.teams import Team, make_team

READS = ["/messages", "/messages?limit=10", "/messages?before=3", "", "?include=messages"]


@pytest.fixture
async def team(app: FastAPI, client: httpx.AsyncClient) -> Team:
    return await make_team(client, app)


@pytest.fixture
async def conversation(team: Team) -> dict[str, Any]:
    conversation = await create_conversation(team.editor, team.workspace_id, title="Chat")
    for text in ("one", "two", "three"):
        await post_message(team.editor, conversation["id"], text)
    return conversation


def path_of(conversation: dict[str, Any], read: str) -> str:
    return f"/v1/conversations/{conversation['id']}{read}"


async def revalidate(account: Account, path: str, tag: str) -> httpx.Response:
    return await account.get(path, headers={"If-None-Match": tag})


@pytest.mark.parametrize("read", READS)
async def test_an_unchanged_read_revalidates_as_304(
    team: Team, conversation: dict[str, Any], read: str
) -> None:
    first = await team.viewer.get(path_of(conversation, read))
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"

    again = await revalidate(team.viewer, path_of(conversation, read), tag)

    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", tag)
    for spelled in (f"W/{tag}", f'"other", {tag}'):
        assert (await revalidate(team.owner, path_of(conversation, read), spelled)).status_code == 304


async def _edit(team: Team, conversation: dict[str, Any]) -> None:
    page = (await team.editor.get(path_of(conversation, "/messages"))).json()
    message = page["items"][0]
    path = reply_path(conversation["id"], message["id"])
    assert (await team.editor.patch(path, json={"content": "uno"})).status_code == 200


async def _delete(team: Team, conversation: dict[str, Any]) -> None:
    page = (await team.editor.get(path_of(conversation, "/messages"))).json()
    path = reply_path(conversation["id"], page["items"][1]["id"])
    assert (await team.editor.delete(path)).status_code == 204


async def _metadata(team: Team, conversation: dict[str, Any]) -> None:
    page = (await team.editor.get(path_of(conversation, "/messages"))).json()
    path = reply_path(conversation["id"], page["items"][2]["id"])
    assert (await team.editor.patch(path, json={"metadata": {"seen": True}})).status_code == 200


async def _post(team: Team, conversation: dict[str, Any]) -> None:
    await post_message(team.owner, conversation["id"], "four")


async def _rename(team: Team, conversation: dict[str, Any]) -> None:
    renamed = await team.editor.patch(path_of(conversation, ""), json={"title": "Renamed"})
    assert renamed.status_code == 200


CHANGES: dict[str, Callable[[Team, dict[str, Any]], Awaitable[None]]] = {
    "post": _post,
    "edit": _edit,
    "metadata": _metadata,
    "delete": _delete,
    "rename": _rename,
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_any_change_makes_a_stale_tag_answer_200(
    team: Team, conversation: dict[str, Any], change: str
) -> None:
    paths = [path_of(conversation, read) for read in READS]
    await assert_stale_after(team, paths, CHANGES[change](team, conversation))


def shown(answer: httpx.Response) -> Any:
    """What an answer shows, less a list's ``next_cursor``: it carries the moment its walk began."""
    body = answer.json()
    body.pop("next_cursor", None)
    return body


async def assert_stale_after(team: Team, paths: list[str], change: Awaitable[None]) -> None:
    """Each of ``paths``' tags, taken before ``change``, answers 200 after it, with the fresh answer and a
    new tag that revalidates."""
    before = [(await team.viewer.get(path)).headers["ETag"] for path in paths]

    await change

    for path, stale in zip(paths, before, strict=True):
        after = await revalidate(team.viewer, path, stale)
        assert after.status_code == 200, path
        assert after.headers["ETag"] != stale
        fresh = await team.viewer.get(path)
        assert (shown(after), after.headers["ETag"]) == (shown(fresh), fresh.headers["ETag"])
        assert (await revalidate(team.viewer, path, after.headers["ETag"])).status_code == 304


async def test_each_step_of_a_streaming_reply_changes_the_tag(
    team: Team, conversation: dict[str, Any]
) -> None:
    path = path_of(conversation, "/messages")
    tags = [(await team.viewer.get(path)).headers["ETag"]]
    reply = await start_reply(team.editor, conversation["id"])
    tags.append((await team.viewer.get(path)).headers["ETag"])
    await stream_text(team.editor, reply, ["Hel"])
    tags.append((await team.viewer.get(path)).headers["ETag"])
    await stream_text(team.editor, reply, ["lo"], start=3)
    tags.append((await team.viewer.get(path)).headers["ETag"])
    await finish(team.editor, reply)
    tags.append((await team.viewer.get(path)).headers["ETag"])
    second = await start_reply(team.editor, conversation["id"])
    await cancel(team.owner, second)
    tags.append((await team.viewer.get(path)).headers["ETag"])
    assert len(set(tags)) == len(tags)


async def test_a_tag_of_another_read_does_not_match(team: Team, conversation: dict[str, Any]) -> None:
    tag = (await team.viewer.get(path_of(conversation, "/messages?limit=10"))).headers["ETag"]
    for other in ("/messages?limit=20", "/messages?limit=10&after=1", "", "?include=messages"):
        assert (await revalidate(team.viewer, path_of(conversation, other), tag)).status_code == 200
    other_conversation = await create_conversation(team.editor, team.workspace_id)
    elsewhere = await revalidate(team.viewer, path_of(other_conversation, "/messages?limit=10"), tag)
    assert elsewhere.status_code == 200


@pytest.mark.parametrize("read", READS)
async def test_a_stranger_with_a_current_tag_still_gets_404(
    team: Team, conversation: dict[str, Any], read: str
) -> None:
    tag = (await team.viewer.get(path_of(conversation, read))).headers["ETag"]
    refused = await revalidate(team.stranger, path_of(conversation, read), tag)
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert "ETag" not in refused.headers


@pytest.mark.parametrize("tag", ["*", '"messages.0"', "garbage", '"messages.x.1"', '"\u00b2"'])
async def test_other_if_none_match_values_answer_200(
    team: Team, conversation: dict[str, Any], tag: str
) -> None:
    answer = await team.viewer.get(
        path_of(conversation, "/messages"), headers={"If-None-Match": tag.encode()}
    )
    assert answer.status_code == 200


LISTS = ["", "?limit=1", "?modality=chat"]


def list_path(team: Team, read: str) -> str:
    return f"/v1/workspaces/{team.workspace_id}/conversations{read}"


async def _create_another(team: Team, conversation: dict[str, Any]) -> None:
    await create_conversation(team.editor, team.workspace_id, title="Another")


async def _delete_conversation(team: Team, conversation: dict[str, Any]) -> None:
    assert (await team.editor.delete(path_of(conversation, ""))).status_code == 204


LIST_CHANGES = {**CHANGES, "create": _create_another, "delete conversation": _delete_conversation}


@pytest.mark.parametrize("read", LISTS)
async def test_an_unchanged_list_revalidates_as_304(
    team: Team, conversation: dict[str, Any], read: str
) -> None:
    first = await team.viewer.get(list_path(team, read))
    assert first.json()["items"], "the list holds the conversation"

    again = await revalidate(team.viewer, list_path(team, read), first.headers["ETag"])

    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", first.headers["ETag"])


@pytest.mark.parametrize("change", list(LIST_CHANGES))
async def test_any_change_in_the_workspace_makes_a_stale_list_tag_answer_200(
    team: Team, conversation: dict[str, Any], change: str
) -> None:
    paths = [list_path(team, read) for read in LISTS]
    await assert_stale_after(team, paths, LIST_CHANGES[change](team, conversation))


async def test_a_list_tag_belongs_to_its_page_and_workspace(team: Team, conversation: dict[str, Any]) -> None:
    await create_conversation(team.editor, team.workspace_id, title="Second")
    first = await team.viewer.get(list_path(team, "?limit=1"))
    tag, cursor = first.headers["ETag"], first.json()["next_cursor"]
    assert cursor is not None
    for other in (f"?limit=1&cursor={cursor}", "?limit=2", ""):
        assert (await revalidate(team.viewer, list_path(team, other), tag)).status_code == 200
    second = await team.viewer.get(list_path(team, f"?limit=1&cursor={cursor}"))
    assert (
        await revalidate(team.viewer, list_path(team, f"?limit=1&cursor={cursor}"), second.headers["ETag"])
    ).status_code == 304
    elsewhere = (await team.owner.post("/v1/workspaces", json={"name": "Elsewhere"})).json()["id"]
    other_list = f"/v1/workspaces/{elsewhere}/conversations?limit=1"
    assert (await revalidate(team.owner, other_list, tag)).status_code == 200


async def test_a_stranger_with_a_current_list_tag_still_gets_404(
    team: Team, conversation: dict[str, Any]
) -> None:
    tag = (await team.viewer.get(list_path(team, ""))).headers["ETag"]
    refused = await revalidate(team.stranger, list_path(team, ""), tag)
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert "ETag" not in refused.headers
