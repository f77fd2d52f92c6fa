"""Fill the templates for one resource: the field-dependent fragments, then each file's text."""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Any

from threadline.scaffold import templates
from threadline.scaffold.spec import FieldSpec, FieldType, Parent, ResourceSpec

_DOMAIN_TYPES = {
    FieldType.STR: "str",
    FieldType.TEXT: "str",
    FieldType.INT: "int",
    FieldType.BOOL: "bool",
    FieldType.DATETIME: "datetime",
    FieldType.JSON: "dict[str, Any]",
}

_REQUEST_TYPES = {
    FieldType.INT: "StoredInt",
    FieldType.BOOL: "StrictBool",
    FieldType.DATETIME: "Timestamp",
    FieldType.JSON: "JsonObject",
}

_DESCRIPTIONS = {
    FieldType.INT: "A whole number that fits 32 bits.",
    FieldType.BOOL: "True or false.",
    FieldType.DATETIME: "An RFC 3339 time with an offset; answered in UTC.",
    FieldType.JSON: "A JSON object: at most 16 KiB serialised and 10 levels deep.",
}


@dataclass(frozen=True)
class Sample:
    """Values of one field for the generated tests: sent, answered, and as Python for the lower layers."""

    sent: Any
    answered: Any
    python: str


_FIRST = {
    FieldType.INT: Sample(42, 42, "42"),
    FieldType.BOOL: Sample(True, True, "True"),
    FieldType.DATETIME: Sample(
        "2026-01-02T05:04:05+02:00", "2026-01-02T03:04:05Z", "datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)"
    ),
    FieldType.JSON: Sample({"key": ["value", 1]}, {"key": ["value", 1]}, '{"key": ["value", 1]}'),
}
_SECOND = {
    FieldType.INT: Sample(-7, -7, "-7"),
    FieldType.BOOL: Sample(False, False, "False"),
    FieldType.DATETIME: Sample(
        "2027-03-04T05:06:07Z", "2027-03-04T05:06:07Z", "datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC)"
    ),
    FieldType.JSON: Sample({"changed": True}, {"changed": True}, '{"changed": True}'),
}


def sample(field: FieldSpec, *, second: bool = False) -> Sample:
    if field.type in (FieldType.STR, FieldType.TEXT):
        text = ("Changed" if second else "Sample")[: field.max_length]
        return Sample(text, text, repr(text))
    return (_SECOND if second else _FIRST)[field.type]


def bad_values(field: FieldSpec) -> list[str]:
    """Values a request must refuse for this field with a 422 naming it, as Python expressions."""
    if field.type in (FieldType.STR, FieldType.TEXT):
        return ["5", f'"x" * {field.max_length + 1 if field.max_length else 1}']
    return {
        FieldType.INT: ['"x"', "True", "2**31"],
        FieldType.BOOL: ['"yes"', "1"],
        FieldType.DATETIME: ['"2026-01-02T03:04:05"', '"not a time"'],
        FieldType.JSON: ["[1]", '"text"'],
    }[field.type]


def domain_type(field: FieldSpec) -> str:
    annotation = _DOMAIN_TYPES[field.type]
    return f"{annotation} | None" if field.optional else annotation


def request_type(field: FieldSpec) -> str:
    if field.type in (FieldType.STR, FieldType.TEXT):
        return f"Annotated[Text, Field(max_length={field.max_length})]"
    return _REQUEST_TYPES[field.type]


def description(field: FieldSpec) -> str:
    if field.type in (FieldType.STR, FieldType.TEXT):
        text = f"Up to {field.max_length:,} characters."
    else:
        text = _DESCRIPTIONS[field.type]
    return f"{text} Null when not set." if field.optional else text


def row_column(field: FieldSpec) -> str:
    mapped = f"Mapped[{domain_type(field)}]"
    if field.type is FieldType.STR:
        return f"    {field.name}: {mapped} = mapped_column(String({field.max_length}))"
    if field.type is FieldType.TEXT:
        return f"    {field.name}: {mapped} = mapped_column(Text)"
    return f"    {field.name}: {mapped}"


def _lines(lines: list[str]) -> str:
    return "\n".join(lines)


def _kwargs(spec: ResourceSpec, *, second: bool = False) -> str:
    return ", ".join(f"{field.name}={sample(field, second=second).python}" for field in spec.fields)


def _fragments(spec: ResourceSpec) -> dict[str, str]:
    """What the templates fill in: the code's fragments, the tests', and the parent's."""
    return {
        **_code_fragments(spec),
        **_api_model_fragments(spec),
        **_test_fragments(spec),
        **_parent_fragments(spec),
    }


def _code_fragments(spec: ResourceSpec) -> dict[str, str]:
    fields = spec.fields
    passed = ", ".join(f"{field.name}={field.name}" for field in fields)
    optional_params = ", ".join(
        f"{field.name}: {_DOMAIN_TYPES[field.type]} | None = None" for field in fields
    )
    create_params = ", ".join(
        f"{field.name}: {domain_type(field)}" + (" = None" if field.optional else "") for field in fields
    )
    return {
        "domain_fields": _lines([f"    {field.name}: {domain_type(field)}" for field in fields]),
        "row_fields": _lines([row_column(field) for field in fields]),
        "add_params": ", ".join(f"{field.name}: {domain_type(field)}" for field in fields),
        "add_values": passed,
        "update_params": optional_params,
        "given_values": passed,
        "create_params": create_params,
        "add_args": passed,
        "update_args": passed,
        "nothing_given": "all(value is None for value in ("
        + "".join(f"{field.name}, " for field in fields)
        + "))",
    }


def _api_model_fragments(spec: ResourceSpec) -> dict[str, str]:
    fields = spec.fields
    return {
        "create_fields": _lines(
            [
                f"    {field.name}: {request_type(field)}"
                + (" | None = None" if field.optional else "")
                + f'\n    """{description(field)}"""'
                for field in fields
            ]
        ),
        "update_fields": _lines(
            [
                f"    {field.name}: {request_type(field)} | None = None\n"
                f'    """The new value; left out or null, it stays as it is."""'
                for field in fields
            ]
        ),
        "response_fields": _lines(
            [f'    {field.name}: {domain_type(field)}\n    """{description(field)}"""' for field in fields]
        ),
    }


def _test_fragments(spec: ResourceSpec) -> dict[str, str]:
    fields, first = spec.fields, spec.fields[0]
    return {
        "create_body": repr({field.name: sample(field).sent for field in fields}),
        "created": repr({field.name: sample(field).answered for field in fields}),
        "update_body": repr({field.name: sample(field, second=True).sent for field in fields}),
        "updated": repr({field.name: sample(field, second=True).answered for field in fields}),
        "bad_values": "["
        + ", ".join(f"({field.name!r}, {value})" for field in fields for value in bad_values(field))
        + "]",
        "missing_check": "".join(
            templates.MISSING_CHECK.substitute(field=field.name) for field in spec.required[:1]
        ),
        "domain_create": _kwargs(spec),
        "domain_update": _kwargs(spec, second=True),
        "changed_check": f"changed.{first.name} == {sample(first, second=True).python}",
    }


def _parent_fragments(spec: ResourceSpec) -> dict[str, str]:
    if spec.parent is Parent.WORKSPACE:
        return {
            "require": "require_workspace_role",
            "require_body": "    await require_workspace_role(\n"
            "        uow, actor, workspace_id, needed, for_change=for_change\n    )\n    return workspace_id",
            "event_conversation": "",
            "collection_body": f'    return f"{{team.path}}/{spec.plural}"',
            "parent_setup": "        parent_id = workspace.id",
        }
    return {
        "require": "require_conversation_role",
        "require_body": "    workspace_id, _ = await require_conversation_role(\n"
        "        uow, actor, conversation_id, needed, for_change=for_change\n    )\n    return workspace_id",
        "event_conversation": f"conversation_id={spec.name}.conversation_id,",
        "collection_body": '    response = await team.owner.post(f"{team.path}/conversations", json={})\n'
        "    assert response.status_code == 201, response.text\n"
        f"    return f\"/v1/conversations/{{response.json()['id']}}/{spec.plural}\"",
        "parent_setup": "        conversation = await uow.conversations.add(\n"
        '            workspace_id=workspace.id, title="", modality="chat", metadata={}, now=now\n'
        "        )\n        parent_id = conversation.id",
    }


def names(spec: ResourceSpec) -> dict[str, str]:
    article = "an" if spec.words[0] in "aeiou" else "a"
    parent = spec.parent.value
    return {
        "name": spec.name,
        "plural": spec.plural,
        "Cls": spec.cls,
        "words": spec.words,
        "Words": spec.words.capitalize(),
        "plural_words": spec.plural_words,
        "Plural_words": spec.plural_words.capitalize(),
        "article": article,
        "Article": article.capitalize(),
        "id": spec.id,
        "parent": parent,
        "Parent": parent.capitalize(),
        "article_parent": "a",
        "parent_id": spec.parent_id,
        "ParentId": "WorkspaceId" if spec.parent is Parent.WORKSPACE else "ConversationId",
        "parent_table": spec.parent_table,
        "PREFIX": spec.event_prefix,
    }


def file_templates(spec: ResourceSpec) -> dict[str, Template]:
    """Each new file's path, from the project root, and its template; the migration is made apart."""
    return {
        f"threadline/models/domain/{spec.name}.py": templates.DOMAIN,
        f"threadline/database/repositories/{spec.plural}.py": templates.REPOSITORY,
        f"threadline/services/{spec.plural}.py": templates.SERVICE,
        f"threadline/models/api/request/{spec.plural}.py": templates.REQUEST,
        f"threadline/models/api/response/{spec.plural}.py": templates.RESPONSE,
        f"threadline/api/routers/{spec.plural}.py": templates.ROUTER,
        f"tests/api/test_{spec.plural}.py": templates.API_TEST,
        f"tests/services/test_{spec.plural}.py": templates.SERVICE_TEST,
        f"tests/database/test_{spec.name}_repository.py": templates.REPOSITORY_TEST,
    }


def new_files(spec: ResourceSpec) -> dict[str, str]:
    """Each new file's path and text, before formatting."""
    values = {**names(spec), **_fragments(spec)}
    return {path: template.substitute(values) for path, template in file_templates(spec).items()}


def row_class(spec: ResourceSpec) -> str:
    return templates.ROW.substitute({**names(spec), **_fragments(spec)})
