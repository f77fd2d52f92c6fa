"""The scaffold's edits to shared files (the registration points), each one undoable by ``--remove``.

Every inserted text is derived from the resource's name alone, already formatted as ruff would, so that
``--remove NAME`` can find and take out exactly what the scaffold put in, and nothing else.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from threadline.scaffold.spec import ResourceSpec


class EditError(RuntimeError):
    """A shared file does not look as the scaffold expects (an anchor is missing or repeated)."""


@dataclass(frozen=True)
class Edit:
    """Insert ``lines`` into the file at ``path``; where is up to the subclass."""

    path: str
    lines: tuple[str, ...]

    def apply(self, text: str) -> str:
        source = text.splitlines()
        index = self._position(source)
        return _joined(source[:index] + list(self.lines) + source[index:])

    def undo(self, text: str) -> str | None:
        """The text without the inserted lines, or ``None`` when they are not (or no longer) there."""
        source = text.splitlines()
        count = len(self.lines)
        for index in range(len(source) - count + 1):
            if tuple(source[index : index + count]) == self.lines:
                return _joined(source[:index] + source[index + count :])
        return None

    def _position(self, source: list[str]) -> int:
        raise NotImplementedError


@dataclass(frozen=True)
class After(Edit):
    """Right after the one line equal to ``anchor``."""

    anchor: str = ""

    def _position(self, source: list[str]) -> int:
        found = [index for index, line in enumerate(source) if line == self.anchor]
        if len(found) != 1:
            raise EditError(f"{self.path}: expected the line {self.anchor.strip()!r} exactly once")
        return found[0] + 1


@dataclass(frozen=True)
class Before(After):
    """Right before the line ``anchor``, or at the end of the file without one (with two blank lines)."""

    def _position(self, source: list[str]) -> int:
        found = [index for index, line in enumerate(source) if line == self.anchor]
        return found[0] if found else len(source)


@dataclass(frozen=True)
class ClassEnd(Edit):
    """At the end of the body of the top-level class ``name``."""

    name: str = ""

    def _position(self, source: list[str]) -> int:
        for node in ast.parse(_joined(source)).body:
            if isinstance(node, ast.ClassDef) and node.name == self.name:
                assert node.end_lineno is not None
                return node.end_lineno
        raise EditError(f"{self.path}: no class {self.name}")


@dataclass(frozen=True)
class SortedImport(Edit):
    """One ``from threadline… import …`` line, where ruff's isort puts it among the first-party imports."""

    def _position(self, source: list[str]) -> int:
        module = self.lines[0].split()[1]
        imports = [
            node
            for node in ast.parse(_joined(source)).body
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("threadline")
        ]
        if not imports:
            raise EditError(f"{self.path}: no first-party import to place {module} among")
        for node in imports:
            if (node.module or "") > module:
                return node.lineno - 1
        assert imports[-1].end_lineno is not None
        return imports[-1].end_lineno


@dataclass(frozen=True)
class ImportedName(Edit):
    """One name in a parenthesised ``from module import (…)``, one name a line, in sorted order."""

    module: str = ""

    def _position(self, source: list[str]) -> int:
        for node in ast.parse(_joined(source)).body:
            if isinstance(node, ast.ImportFrom) and node.module == self.module:
                assert node.end_lineno is not None
                names = range(node.lineno, node.end_lineno - 1)  # between the parentheses
                later = [index for index in names if source[index].strip() > self.lines[0].strip()]
                return later[0] if later else node.end_lineno - 1
        raise EditError(f"{self.path}: no import from {self.module}")


def _joined(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def dependency_alias(spec: ResourceSpec) -> tuple[str, ...]:
    """``XServiceDep``, split over three lines as ruff formats it when one line is too long."""
    cls, provide = f"{spec.cls}Service", f"Depends(_provide(lambda services: services.{spec.plural}))"
    one_line = f"{cls}Dep = Annotated[{cls}, {provide}]"
    if len(one_line) <= 110:
        return (one_line,)
    return (f"{cls}Dep = Annotated[", f"    {cls}, {provide}", "]")


def shared_edits(spec: ResourceSpec) -> list[Edit]:
    """Each registration point a new resource needs, in the order they are applied."""
    return [*_model_edits(spec), *_api_edits(spec)]


def _model_edits(spec: ResourceSpec) -> list[Edit]:
    """Its event types, and its repository in the unit of work."""
    cls, plural = spec.cls, spec.plural
    prefix, name = spec.event_prefix, spec.name
    return [
        ClassEnd(
            "threadline/models/domain/event.py",
            (
                f'    {prefix}_CREATED = "{name}.created"',
                f'    {prefix}_UPDATED = "{name}.updated"',
                f'    {prefix}_DELETED = "{name}.deleted"',
            ),
            name="EventType",
        ),
        SortedImport(
            "threadline/database/unit_of_work.py",
            (f"from threadline.database.repositories.{plural} import {cls}Repository",),
        ),
        After(
            "threadline/database/unit_of_work.py",
            (f"    {plural}: {cls}Repository",),
            "    events: EventRepository",
        ),
        After(
            "threadline/database/unit_of_work.py",
            (f"        self.{plural} = {cls}Repository(session)",),
            "        self.events = EventRepository(session)",
        ),
    ]


def _api_edits(spec: ResourceSpec) -> list[Edit]:
    """Its service among the app's, its dependency, and its router."""
    cls, plural = spec.cls, spec.plural
    service_import = (f"from threadline.services.{plural} import {cls}Service",)
    return [
        SortedImport("threadline/api/resources.py", service_import),
        ClassEnd("threadline/api/resources.py", (f"    {plural}: {cls}Service",), name="Services"),
        SortedImport("threadline/api/dependencies.py", service_import),
        After(
            "threadline/api/dependencies.py",
            dependency_alias(spec),
            "StreamServiceDep = Annotated[StreamService, Depends(_provide(lambda services: "
            "services.streams))]",
        ),
        ImportedName("threadline/app.py", (f"    {plural},",), module="threadline.api.routers"),
        SortedImport("threadline/app.py", service_import),
        After("threadline/app.py", (f"        {plural}.router,",), "        workspaces.router,"),
        After(
            "threadline/app.py",
            (f"        {plural}={cls}Service(new_unit_of_work),",),
            "        streams=StreamService(new_unit_of_work, hub),",
        ),
    ]


ROWS_ANCHOR = (
    "# The hot paths (posting and paging messages, the event log) run prebuilt Core statements "
    "on these tables:"
)
"""The row class goes above the table constants at the end of ``database/models.py``."""


def row_edit(spec: ResourceSpec, row_class: str) -> Edit:
    """The row class in ``database/models.py``; ``row_class`` is its formatted text."""
    return Before(
        "threadline/database/models.py", (*row_class.rstrip("\n").splitlines(), "", ""), ROWS_ANCHOR
    )


def remove_row(text: str, class_name: str) -> str | None:
    """``database/models.py`` without the class ``class_name`` and the blank lines after it; ``None`` if
    there is no such class. Found by its name, so it goes even if it was edited since."""
    source = text.splitlines()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            assert node.end_lineno is not None
            start = node.lineno - 1 - len(node.decorator_list)
            end = node.end_lineno
            while end < len(source) and not source[end].strip():
                end += 1
            if end == len(source):  # the last thing in the file: drop the blank lines before it instead
                while start > 0 and not source[start - 1].strip():
                    start -= 1
            return _joined(source[:start] + source[end:])
    return None
