"""The files of one vertical slice, as ``string.Template`` text in the project's own style.

``$``-names are filled in by ``render.py``; the field-dependent parts arrive as ready-made fragments.
The generated files are formatted by ruff afterwards, so a fragment's line breaks do not matter.
"""

from __future__ import annotations

from string import Template

DOMAIN = Template('''"""$Plural_words: $article $words belongs to one $parent (a scaffolded resource)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from threadline.models.domain.base import DomainModel


class $Cls(DomainModel):
    id: UUID
    $parent_id: UUID
$domain_fields
    created_at: datetime
    updated_at: datetime
''')

ROW = Template("""class ${Cls}Row(Base):
    __tablename__ = "$plural"
    __table_args__ = (Index("ix_${plural}_${parent}_created", "$parent_id", "created_at", "id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    $parent_id: Mapped[UUID] = mapped_column(ForeignKey("$parent_table.id", ondelete="CASCADE"))
$row_fields
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
""")

REPOSITORY = Template('''"""$Plural_words: stored and read by their $parent."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from threadline.database.models import ${Cls}Row
from threadline.database.pagination import keyset_page
from threadline.database.repositories.base import Repository
from threadline.database.types import given
from threadline.errors import NotFound
from threadline.models.domain.$name import $Cls
from threadline.models.domain.pagination import Cursor, Page


def to_$name(row: ${Cls}Row) -> $Cls:
    return $Cls.model_validate(row, from_attributes=True)


class ${Cls}Repository(Repository):
    async def add(self, $parent_id: UUID, *, $add_params, now: datetime) -> $Cls:
        row = ${Cls}Row(
            id=uuid4(), $parent_id=$parent_id, $add_values, created_at=now, updated_at=now
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError:
            # The $parent was deleted since the caller's access was checked.
            raise NotFound("$Parent not found") from None
        return to_$name(row)

    async def get(self, $parent_id: UUID, $id: UUID) -> $Cls | None:
        row = await self._session.scalar(
            select(${Cls}Row).where(${Cls}Row.id == $id, ${Cls}Row.$parent_id == $parent_id)
        )
        return to_$name(row) if row else None

    async def list_for_$parent(self, $parent_id: UUID, *, limit: int, cursor: Cursor | None) -> Page[$Cls]:
        return await keyset_page(
            self._session,
            select(${Cls}Row).where(${Cls}Row.$parent_id == $parent_id),
            list_name="$plural",
            at=${Cls}Row.created_at,
            id_=${Cls}Row.id,
            limit=limit,
            cursor=cursor,
            to_domain=to_$name,
        )

    async def update(self, $parent_id: UUID, $id: UUID, *, now: datetime, $update_params) -> $Cls | None:
        """Apply the fields given (``None`` leaves one as it is); ``None`` if the $words is gone."""
        values: dict[str, Any] = {**given($given_values), "updated_at": now}
        row = await self._session.scalar(
            update(${Cls}Row)
            .where(${Cls}Row.id == $id, ${Cls}Row.$parent_id == $parent_id)
            .values(values)
            .returning(${Cls}Row)
        )
        return to_$name(row) if row else None

    async def delete(self, $parent_id: UUID, $id: UUID) -> $Cls | None:
        """The $words as it was, or ``None`` if it was gone already."""
        row = await self._session.scalar(
            delete(${Cls}Row)
            .where(${Cls}Row.id == $id, ${Cls}Row.$parent_id == $parent_id)
            .returning(${Cls}Row)
        )
        return to_$name(row) if row else None
''')

SERVICE = Template('''"""$Plural_words of $article_parent $parent: members read them, editors and the
owner change them; each change is logged as an event in its transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from threadline.database.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.errors import NotFound
from threadline.models.domain.$name import $Cls
from threadline.models.domain.event import EventType, NewEvent
from threadline.models.domain.pagination import Cursor, Page
from threadline.models.domain.user import Actor
from threadline.models.domain.workspace import Role
from threadline.services.access import $require


class ${Cls}Service:
    def __init__(self, new_unit_of_work: UnitOfWorkFactory) -> None:
        self._new_unit_of_work = new_unit_of_work

    async def create_$name(self, *, actor: Actor, $parent_id: UUID, $create_params) -> $Cls:
        async with self._new_unit_of_work() as uow:
            workspace_id = await _require(uow, actor, $parent_id, Role.EDITOR, for_change=True)
            now = _now()
            $name = await uow.$plural.add($parent_id, $add_args, now=now)
            await uow.events.append(_event(EventType.${PREFIX}_CREATED, $name, workspace_id, actor), now=now)
            await uow.commit()
        return $name

    async def list_$plural(
        self, *, actor: Actor, $parent_id: UUID, limit: int, cursor: str | None
    ) -> Page[$Cls]:
        position = Cursor.parse(cursor)
        async with self._new_unit_of_work() as uow:
            await _require(uow, actor, $parent_id, Role.VIEWER)
            return await uow.$plural.list_for_$parent($parent_id, limit=limit, cursor=position)

    async def get_$name(self, *, actor: Actor, $parent_id: UUID, $id: UUID) -> $Cls:
        async with self._new_unit_of_work() as uow:
            await _require(uow, actor, $parent_id, Role.VIEWER)
            return _existing(await uow.$plural.get($parent_id, $id))

    async def update_$name(self, *, actor: Actor, $parent_id: UUID, $id: UUID, $update_params) -> $Cls:
        """Apply the fields given (editor or owner); no change, no event."""
        async with self._new_unit_of_work() as uow:
            if $nothing_given:
                await _require(uow, actor, $parent_id, Role.EDITOR)
                return _existing(await uow.$plural.get($parent_id, $id))
            workspace_id = await _require(uow, actor, $parent_id, Role.EDITOR, for_change=True)
            now = _now()
            $name = _existing(await uow.$plural.update($parent_id, $id, now=now, $update_args))
            await uow.events.append(_event(EventType.${PREFIX}_UPDATED, $name, workspace_id, actor), now=now)
            await uow.commit()
        return $name

    async def delete_$name(self, *, actor: Actor, $parent_id: UUID, $id: UUID) -> None:
        async with self._new_unit_of_work() as uow:
            workspace_id = await _require(uow, actor, $parent_id, Role.EDITOR, for_change=True)
            $name = _existing(await uow.$plural.delete($parent_id, $id))
            await uow.events.append(
                _event(EventType.${PREFIX}_DELETED, $name, workspace_id, actor), now=_now()
            )
            await uow.commit()


async def _require(
    uow: UnitOfWork, actor: Actor, $parent_id: UUID, needed: Role, *, for_change: bool = False
) -> UUID:
    """The caller's access to the $parent, through ``services/access.py``; the workspace id it is in."""
$require_body


def _event(kind: EventType, $name: $Cls, workspace_id: UUID, actor: Actor) -> NewEvent:
    return NewEvent(
        type=kind,
        workspace_id=workspace_id,
        $event_conversation
        actor_id=actor.user_id,
        data=$name.model_dump(mode="json"),
    )


def _existing($name: $Cls | None) -> $Cls:
    if $name is None:
        raise NotFound("$Words not found")
    return $name


def _now() -> datetime:
    return datetime.now(UTC)
''')

REQUEST = Template('''"""Bodies of the $words endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool

from threadline.models.api.fields import JsonObject, RequestModel, StoredInt, Text, Timestamp


class Create${Cls}Request(RequestModel):
    """A new $words in the $parent."""

$create_fields


class Update${Cls}Request(RequestModel):
    """Fields to change; the ones left out, or sent as null, stay as they are."""

$update_fields
''')

RESPONSE = Template('''"""Bodies answered by the $words endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from threadline.models.api.response.base import ResponseModel


class ${Cls}Response(ResponseModel):
    """$Article $words in $article_parent $parent."""

    id: UUID
    """The $words's id."""
    $parent_id: UUID
    """The $parent it belongs to."""
$response_fields
    created_at: datetime
    """When it was created."""
    updated_at: datetime
    """When it last changed."""
''')

ROUTER = Template('''"""$Plural_words of $article_parent $parent (a scaffolded resource; docs/guide.md)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from threadline.api.dependencies import CurrentActor, ${Cls}ServiceDep
from threadline.api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from threadline.api.path_parameters import $ParentId
from threadline.models.api.request.$plural import Create${Cls}Request, Update${Cls}Request
from threadline.models.api.response.$plural import ${Cls}Response
from threadline.models.api.response.base import PageResponse

router = APIRouter(prefix="/v1/${parent_table}/{$parent_id}/$plural", tags=["$parent_table"])

${Cls}Id = Annotated[UUID, Path(description="The $words's id, in the $parent of the path.")]


@router.post("", status_code=201, summary="Create $article $words")
async def create_$name(
    $parent_id: $ParentId, body: Create${Cls}Request, actor: CurrentActor, $plural: ${Cls}ServiceDep
) -> ${Cls}Response:
    """Add $article $words to the $parent (editor or owner)."""
    $name = await $plural.create_$name(actor=actor, $parent_id=$parent_id, **body.model_dump())
    return ${Cls}Response.model_validate($name)


@router.get("", summary="List $plural_words")
async def list_$plural(
    $parent_id: $ParentId,
    actor: CurrentActor,
    $plural: ${Cls}ServiceDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> PageResponse[${Cls}Response]:
    """The $parent's $plural_words, newest first (any member)."""
    page = await $plural.list_$plural(actor=actor, $parent_id=$parent_id, limit=limit, cursor=cursor)
    return PageResponse[${Cls}Response].model_validate(page, from_attributes=True)


@router.get("/{$id}", summary="Get $article $words")
async def get_$name(
    $parent_id: $ParentId, $id: ${Cls}Id, actor: CurrentActor, $plural: ${Cls}ServiceDep
) -> ${Cls}Response:
    """One $words of the $parent (any member); one in another $parent answers 404."""
    $name = await $plural.get_$name(actor=actor, $parent_id=$parent_id, $id=$id)
    return ${Cls}Response.model_validate($name)


@router.patch("/{$id}", summary="Update $article $words")
async def update_$name(
    $parent_id: $ParentId,
    $id: ${Cls}Id,
    body: Update${Cls}Request,
    actor: CurrentActor,
    $plural: ${Cls}ServiceDep,
) -> ${Cls}Response:
    """Change the fields sent (editor or owner); the ones left out, or null, stay as they are."""
    $name = await $plural.update_$name(actor=actor, $parent_id=$parent_id, $id=$id, **body.model_dump())
    return ${Cls}Response.model_validate($name)


@router.delete("/{$id}", status_code=204, summary="Delete $article $words")
async def delete_$name(
    $parent_id: $ParentId, $id: ${Cls}Id, actor: CurrentActor, $plural: ${Cls}ServiceDep
) -> Response:
    """Delete the $words (editor or owner)."""
    await $plural.delete_$name(actor=actor, $parent_id=$parent_id, $id=$id)
    return Response(status_code=204)
''')

API_TEST = Template('''"""$Plural_words over HTTP (scaffolded): CRUD, what each role may do, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.event_log import last_event_id, stored_events
from tests.support.problems import assert_invalid, assert_problem
from tests.support.teams import Team, make_team

CREATE: dict[str, Any] = $create_body
CREATED: dict[str, Any] = $created
UPDATE: dict[str, Any] = $update_body
UPDATED: dict[str, Any] = $updated


async def _collection(team: Team) -> str:
$collection_body


async def _create(team: Team, path: str) -> dict[str, Any]:
    response = await team.owner.post(path, json=CREATE)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_get_list_update_delete_with_their_events(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    team = await make_team(client)
    path = await _collection(team)
    before = await last_event_id(app)

    created = await _create(team, path)
    item = f"{path}/{created['id']}"
    fetched = (await team.viewer.get(item)).json()
    listed = (await team.viewer.get(path)).json()
    unchanged = (await team.editor.patch(item, json={})).json()
    updated = await team.editor.patch(item, json=UPDATE)
    deleted = await team.editor.delete(item)

    assert {key: created[key] for key in CREATED} == CREATED
    assert fetched == unchanged == created
    assert listed == {"items": [created], "next_cursor": None}
    assert updated.status_code == 200, updated.text
    assert {key: updated.json()[key] for key in UPDATED} == UPDATED
    assert deleted.status_code == 204
    assert_problem(await team.owner.get(item), 404, "not_found")
    # The empty update logged nothing.
    events = await stored_events(app, after=before)
    assert [event.type for event in events] == ["$name.created", "$name.updated", "$name.deleted"]
    assert {str(event.data["id"]) for event in events} == {created["id"]}


# Per role: the status of each read, and of each write (create, update, delete).
ROLES = {
    "owner": (200, (201, 200, 204)),
    "editor": (200, (201, 200, 204)),
    "viewer": (200, (403, 403, 403)),
    "stranger": (404, (404, 404, 404)),
}


async def test_members_read_and_editors_write(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    path = await _collection(team)
    answers: dict[str, tuple[object, tuple[int, int, int]]] = {}
    for role in ROLES:
        item = f"{path}/{(await _create(team, path))['id']}"
        caller = team.caller(role)
        reads = {(await caller.get(path)).status_code, (await caller.get(item)).status_code}
        writes = (
            (await caller.post(path, json=CREATE)).status_code,
            (await caller.patch(item, json=UPDATE)).status_code,
            (await caller.delete(item)).status_code,
        )
        answers[role] = (reads.pop() if len(reads) == 1 else reads, writes)

    assert answers == ROLES


async def test_pages_walk_newest_first_and_bad_addresses_are_refused(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    path = await _collection(team)
    ids = [(await _create(team, path))["id"] for _ in range(3)]

    first = (await team.owner.get(path, params={"limit": 2})).json()
    second = (await team.owner.get(path, params={"limit": 2, "cursor": first["next_cursor"]})).json()

    assert [item["id"] for item in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert_invalid(await team.owner.get(f"{path}/not-a-uuid"), "path", "$id")
    assert_problem(await team.owner.get(path, params={"cursor": "garbage"}), 422, "validation_error")
    assert_problem(await team.owner.get(f"{path}/00000000-0000-4000-8000-000000000000"), 404, "not_found")


BAD_VALUES: list[tuple[str, Any]] = $bad_values


async def test_bad_input_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    path = await _collection(team)
    item = f"{path}/{(await _create(team, path))['id']}"

    for field, value in BAD_VALUES:
        assert_invalid(await team.owner.post(path, json={**CREATE, field: value}), "body", field)
        assert_invalid(await team.owner.patch(item, json={field: value}), "body", field)
    assert_invalid(await team.owner.post(path, json={**CREATE, "unknown": 1}), "body", "unknown")
    assert_invalid(await team.owner.patch(item, json={"unknown": 1}), "body", "unknown")
$missing_check''')

MISSING_CHECK = Template("""    # A required field left out.
    left_out = {key: value for key, value in CREATE.items() if key != "$field"}
    assert_invalid(await team.owner.post(path, json=left_out), "body", "$field")
""")

SERVICE_TEST = Template('''"""${Cls}Service on a real database (scaffolded): permissions through
services/access.py, and one event per change, in the change's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from tests.support.accounts import unique_email
from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import Forbidden, NotFound
from threadline.models.domain.event import EventType
from threadline.models.domain.user import Actor, Credential
from threadline.models.domain.workspace import Role
from threadline.services.$plural import ${Cls}Service


async def _setting(database: Database) -> tuple[Actor, Actor, Actor, UUID]:
    """An editor, a viewer and a stranger, and the $parent the first two are members of (its id)."""
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        users = [
            await uow.users.add(email=unique_email(role), name=role, password_hash="-", now=now)
            for role in ("editor", "viewer", "stranger")
        ]
        workspace = await uow.workspaces.add(
            name="Team", description="", metadata={}, owner_id=users[0].id, now=now
        )
        await uow.members.add(workspace.id, users[0], role=Role.OWNER, now=now)
        await uow.members.add(workspace.id, users[1], role=Role.VIEWER, now=now)
$parent_setup
        await uow.commit()
    editor, viewer, stranger = (Actor(user_id=user.id, credential=Credential.ACCESS_TOKEN) for user in users)
    return editor, viewer, stranger, parent_id


async def _types(database: Database) -> list[str]:
    async with UnitOfWork(database) as uow:
        return [event.type for event in (await uow.events.after(0, limit=100)).events]


async def test_a_change_is_stored_with_its_event(database: Database) -> None:
    editor, viewer, _, parent_id = await _setting(database)
    service = ${Cls}Service(lambda: UnitOfWork(database))
    before = await _types(database)

    created = await service.create_$name(actor=editor, $parent_id=parent_id, $domain_create)
    updated = await service.update_$name(
        actor=editor, $parent_id=parent_id, $id=created.id, $domain_update
    )
    fetched = await service.get_$name(actor=viewer, $parent_id=parent_id, $id=created.id)
    await service.delete_$name(actor=editor, $parent_id=parent_id, $id=created.id)

    assert fetched == updated
    assert updated.updated_at >= created.created_at
    assert (await _types(database))[len(before) :] == [
        EventType.${PREFIX}_CREATED,
        EventType.${PREFIX}_UPDATED,
        EventType.${PREFIX}_DELETED,
    ]
    with pytest.raises(NotFound):
        await service.get_$name(actor=viewer, $parent_id=parent_id, $id=created.id)


async def test_a_viewer_may_not_change_and_a_stranger_finds_nothing(database: Database) -> None:
    editor, viewer, stranger, parent_id = await _setting(database)
    service = ${Cls}Service(lambda: UnitOfWork(database))
    before = await _types(database)

    with pytest.raises(Forbidden):
        await service.create_$name(actor=viewer, $parent_id=parent_id, $domain_create)
    with pytest.raises(NotFound):
        await service.list_$plural(actor=stranger, $parent_id=parent_id, limit=10, cursor=None)
    with pytest.raises(NotFound):
        await service.get_$name(actor=editor, $parent_id=uuid4(), $id=uuid4())

    assert await _types(database) == before
''')

REPOSITORY_TEST = Template('''"""${Cls}Repository on a real database (scaffolded): rows in and out as
domain models, every field type intact, and nothing found in another $parent."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from tests.support.accounts import unique_email
from threadline.database.engine import Database
from threadline.database.unit_of_work import UnitOfWork
from threadline.errors import NotFound


async def _parent(database: Database) -> UUID:
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        owner = await uow.users.add(email=unique_email("owner"), name="Owner", password_hash="-", now=now)
        workspace = await uow.workspaces.add(
            name="Team", description="", metadata={}, owner_id=owner.id, now=now
        )
$parent_setup
        await uow.commit()
    return parent_id


async def test_fields_round_trip_and_updates_apply_only_what_is_given(database: Database) -> None:
    parent_id = await _parent(database)
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        added = await uow.$plural.add(parent_id, $domain_create, now=now)
        await uow.commit()

    async with UnitOfWork(database) as uow:
        read = await uow.$plural.get(parent_id, added.id)
        unchanged = await uow.$plural.update(parent_id, added.id, now=now)
        changed = await uow.$plural.update(parent_id, added.id, now=now, $domain_update)
        elsewhere = await uow.$plural.get(uuid4(), added.id)
        await uow.commit()

    assert read == added
    assert unchanged == added
    assert changed is not None
    assert $changed_check
    assert elsewhere is None


async def test_pages_deletes_and_a_missing_$parent(database: Database) -> None:
    parent_id = await _parent(database)
    now = datetime.now(UTC)
    async with UnitOfWork(database) as uow:
        added = [await uow.$plural.add(parent_id, $domain_create, now=now) for _ in range(3)]
        await uow.commit()

    async with UnitOfWork(database) as uow:
        page = await uow.$plural.list_for_$parent(parent_id, limit=10, cursor=None)
        deleted = await uow.$plural.delete(parent_id, added[0].id)
        again = await uow.$plural.delete(parent_id, added[0].id)
        await uow.commit()

    assert sorted(item.id for item in page.items) == sorted(item.id for item in added)
    assert deleted == added[0]
    assert again is None
    with pytest.raises(NotFound):  # the $parent is gone
        async with UnitOfWork(database) as uow:
            await uow.$plural.add(uuid4(), $domain_create, now=now)


''')
