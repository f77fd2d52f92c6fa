"""The scaffold's parts without a copy of the project: field syntax, the generated files' syntax, and
each edit to a shared file undone exactly (the acceptance test is ``tests/test_scaffold.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from threadline.cli import main
from threadline.scaffold import render
from threadline.scaffold.command import VERSIONS
from threadline.scaffold.edits import remove_row, row_edit, shared_edits
from threadline.scaffold.spec import FieldSpec, FieldType, ResourceSpec, SpecError

ROOT = Path(__file__).resolve().parents[2]
EVERY_TYPE = ["title:str:max=80", "body:text?", "done:bool", "due:datetime?", "points:int", "extra:json?"]


def test_a_field_is_name_type_optional_and_length() -> None:
    assert FieldSpec.parse("title:str:max=80") == FieldSpec("title", FieldType.STR, False, 80)
    assert FieldSpec.parse("due:datetime?") == FieldSpec("due", FieldType.DATETIME, True, None)
    assert FieldSpec.parse("body:text") == FieldSpec("body", FieldType.TEXT, False, 100_000)
    assert FieldSpec.parse("name:str?").max_length == 200


@pytest.mark.parametrize(
    "field",
    [
        "title",  # no type
        "title:string",  # unknown type
        "Title:str",  # not snake_case
        "class:str",  # a keyword
        "id:str",  # every resource has it
        "metadata:json",  # reserved by SQLAlchemy's declarative base
        "done:bool:max=3",  # max= is for lengths
        "title:str:max=0",
        "title:str:min=3",
        "title:str:max=20000",  # a str that long should be a text
    ],
)
def test_a_malformed_field_is_refused_with_a_reason(field: str) -> None:
    with pytest.raises(SpecError):
        FieldSpec.parse(field)


@pytest.mark.parametrize("name", ["Task", "due-task", "x" * 25, "for"])
def test_a_malformed_name_is_refused(name: str) -> None:
    with pytest.raises(SpecError):
        ResourceSpec.parse(name, parent="workspace", fields=["title:str"])


def test_a_field_given_twice_is_refused() -> None:
    with pytest.raises(SpecError, match="twice"):
        ResourceSpec.parse("task", parent="workspace", fields=["title:str", "title:text"])


@pytest.mark.parametrize("parent", ["workspace", "conversation"])
def test_every_generated_file_is_python(parent: str) -> None:
    spec = ResourceSpec.parse("due_task", parent=parent, fields=EVERY_TYPE)

    files = {**render.new_files(spec), "row": render.row_class(spec)}

    for path, text in files.items():
        ast.parse(text, filename=path)
    assert "class DueTaskRow(Base):" in files["row"]
    assert (
        '"/v1/' + parent + "s/{" + parent + '_id}/due_tasks"' in files["threadline/api/routers/due_tasks.py"]
    )


def test_each_edit_to_a_shared_file_is_undone_exactly() -> None:
    spec = ResourceSpec.parse("due_task", parent="workspace", fields=EVERY_TYPE)
    edits = [*shared_edits(spec)]
    originals = {edit.path: (ROOT / edit.path).read_text() for edit in edits}
    texts = dict(originals)
    for edit in edits:
        texts[edit.path] = edit.apply(texts[edit.path])
    for path in originals:
        ast.parse(texts[path])

    for edit in reversed(edits):
        undone = edit.undo(texts[edit.path])
        assert undone is not None, edit
        texts[edit.path] = undone

    assert texts == originals
    assert all(edit.undo(originals[edit.path]) is None for edit in edits)


def test_the_row_goes_before_the_table_constants_and_comes_out_again() -> None:
    spec = ResourceSpec.parse("due_task", parent="conversation", fields=EVERY_TYPE)
    models = (ROOT / "threadline/database/models.py").read_text()

    added = row_edit(spec, render.row_class(spec)).apply(models)

    assert added.index("class DueTaskRow(Base):") < added.index("WORKSPACES_TABLE: Table")
    assert remove_row(added, "DueTaskRow") == models
    assert remove_row(models, "DueTaskRow") is None


def test_remove_refuses_a_scaffold_that_a_later_migration_builds_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = tmp_path / VERSIONS
    versions.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("")
    for name in ("0008_tasks.py", "0009_bookmarks.py"):
        (versions / name).write_text("")

    refused = main(["scaffold", "task", "--remove", "--root", str(tmp_path)])

    assert refused == 2
    assert "not the latest migration" in capsys.readouterr().err
    assert (versions / "0008_tasks.py").exists()
