"""What a scaffold is asked for: the resource's name, its parent and its fields, checked before anything
is written (``docs/guide.md`` describes the syntax)."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from enum import StrEnum


class SpecError(ValueError):
    """The command line asks for a resource that cannot be generated; the message says why."""


class Parent(StrEnum):
    WORKSPACE = "workspace"
    CONVERSATION = "conversation"


class FieldType(StrEnum):
    STR = "str"
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    DATETIME = "datetime"
    JSON = "json"


DEFAULT_MAX = {FieldType.STR: 200, FieldType.TEXT: 100_000}
"""Lengths when ``max=`` is left out: a ``str`` is a bounded column, a ``text`` as long as a message."""

_STR_COLUMN_LIMIT = 10_000
"""Beyond this a ``str`` should be a ``text``: an index on it, or a row, grows too large."""

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

# The event type column holds 32 characters: "<name>.created" must fit.
_MAX_NAME = 24

_RESERVED_FIELDS = {"id", "created_at", "updated_at", "workspace_id", "conversation_id", "metadata"}
"""Columns every scaffold has already, and ``metadata``, which SQLAlchemy's declarative base reserves."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    optional: bool
    max_length: int | None

    @classmethod
    def parse(cls, text: str) -> FieldSpec:
        """``NAME:TYPE[?][:max=N]``, e.g. ``title:str:max=200`` or ``due:datetime?``."""
        name, _, rest = text.partition(":")
        kind, *options = rest.split(":")
        optional = kind.endswith("?")
        kind = kind.removesuffix("?")
        if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
            raise SpecError(f"field {name!r}: a name is a lower-case snake_case identifier")
        if name in _RESERVED_FIELDS:
            raise SpecError(f"field {name!r}: every scaffold has it already, or it is reserved")
        try:
            field_type = FieldType(kind)
        except ValueError:
            allowed = ", ".join(FieldType)
            raise SpecError(f"field {name!r}: type {kind!r} is not one of {allowed}") from None
        return cls(name, field_type, optional, _max_length(name, field_type, options))


def _max_length(name: str, field_type: FieldType, options: list[str]) -> int | None:
    length = DEFAULT_MAX.get(field_type)
    for option in options:
        key, _, value = option.partition("=")
        if key != "max" or not value.isdigit() or int(value) < 1:
            raise SpecError(f"field {name!r}: option {option!r} is not max=N with N >= 1")
        if field_type not in DEFAULT_MAX:
            raise SpecError(f"field {name!r}: max= applies to str and text only")
        length = int(value)
    if field_type is FieldType.STR and length is not None and length > _STR_COLUMN_LIMIT:
        raise SpecError(f"field {name!r}: a str holds at most {_STR_COLUMN_LIMIT} characters; use text")
    return length


@dataclass(frozen=True)
class ResourceSpec:
    """A resource and the names derived from it, in one place so every template agrees."""

    name: str
    parent: Parent
    fields: tuple[FieldSpec, ...] = ()
    plural_name: str = ""

    @classmethod
    def parse(cls, name: str, *, parent: str, fields: list[str], plural: str | None = None) -> ResourceSpec:
        if not _IDENTIFIER.match(name) or keyword.iskeyword(name) or len(name) > _MAX_NAME:
            raise SpecError(f"name {name!r}: a lower-case snake_case identifier of at most {_MAX_NAME} chars")
        plural_name = plural or f"{name}s"
        if not _IDENTIFIER.match(plural_name) or plural_name == name:
            raise SpecError(f"plural {plural_name!r}: a snake_case identifier other than the name")
        parsed = tuple(FieldSpec.parse(field) for field in fields)
        names = [field.name for field in parsed]
        if len(set(names)) != len(names):
            raise SpecError("a field is given twice")
        return cls(name=name, parent=Parent(parent), fields=parsed, plural_name=plural_name)

    @property
    def plural(self) -> str:
        return self.plural_name or f"{self.name}s"

    @property
    def cls(self) -> str:
        """The domain class: ``due_task`` -> ``DueTask``."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def words(self) -> str:
        """For people: ``due_task`` -> ``due task``."""
        return self.name.replace("_", " ")

    @property
    def plural_words(self) -> str:
        return self.plural.replace("_", " ")

    @property
    def id(self) -> str:
        return f"{self.name}_id"

    @property
    def parent_id(self) -> str:
        return f"{self.parent.value}_id"

    @property
    def parent_table(self) -> str:
        return f"{self.parent.value}s"

    @property
    def event_prefix(self) -> str:
        return self.name.upper()

    @property
    def required(self) -> tuple[FieldSpec, ...]:
        return tuple(field for field in self.fields if not field.optional)
