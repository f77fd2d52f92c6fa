"""``threadline scaffold``: write a resource's vertical slice into a project, or take one back out.

The layout it writes is described, layer by layer, in ``docs/guide.md``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import threadline
from threadline.scaffold import render
from threadline.scaffold.edits import EditError, remove_row, row_edit, shared_edits
from threadline.scaffold.spec import Parent, ResourceSpec, SpecError

VERSIONS = "threadline/database/migrations/versions"

_TAKEN_NAMES = {
    "actor", "body", "cursor", "limit", "page", "position", "response", "router", "row", "uow", "values",
    "user", "users", "workspace", "workspaces", "conversation", "conversations", "message", "messages",
    "member", "members", "event", "events", "reply", "replies", "search", "auth", "session", "sessions",
}  # fmt: skip
"""Names the generated code or the project already uses for something else."""


class ScaffoldError(RuntimeError):
    """The scaffold cannot go ahead; nothing was left half-written."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the resource, singular snake_case (e.g. task)")
    parser.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME:TYPE[?][:max=N]",
        help="a field; TYPE is str, text, int, bool, datetime or json; ? makes it optional",
    )
    parser.add_argument("--parent", choices=[parent.value for parent in Parent], default="workspace")
    parser.add_argument("--plural", help="the plural, when adding an s is wrong (default NAME + s)")
    parser.add_argument("--root", type=Path, help="the project to write into (default: this checkout)")
    parser.add_argument("--dry-run", action="store_true", help="print the files it would write, write none")
    parser.add_argument("--remove", action="store_true", help="take an uncommitted scaffold of NAME out")


def run(args: argparse.Namespace) -> int:
    root = (args.root or Path(threadline.__file__).resolve().parent.parent).resolve()
    try:
        if not (root / "pyproject.toml").is_file() or not (root / VERSIONS).is_dir():
            raise ScaffoldError(f"{root} is not a Threadline source checkout")
        if args.remove:
            spec = ResourceSpec.parse(args.name, parent="workspace", fields=[], plural=args.plural)
            _refuse_unless_latest(root, spec)
            for line in remove(root, spec):
                print(line)
            return 0
        spec = ResourceSpec.parse(args.name, parent=args.parent, fields=args.field, plural=args.plural)
        written = scaffold(root, spec, dry_run=args.dry_run)
    except (SpecError, ScaffoldError, EditError) as error:
        print(f"threadline scaffold: {error}", file=sys.stderr)
        return 2
    print(("would write" if args.dry_run else "wrote") + f" {spec.name} under {root}:")
    for line in written:
        print(f"  {line}")
    return 0


def scaffold(root: Path, spec: ResourceSpec, *, dry_run: bool = False) -> list[str]:
    """Write the slice and its migration; the lines of what was (or would be) written and edited."""
    if not spec.fields:
        raise ScaffoldError("give at least one --field")
    _refuse_existing(root, spec)
    revision, down_revision = _next_revision(root)
    migration = f"{VERSIONS}/{revision}_{spec.plural}.py"
    row_path = "threadline/database/models.py"
    files = _formatted(root, {**render.new_files(spec), row_path: render.row_class(spec)})
    row = row_edit(spec, files.pop(row_path))
    edits = [row, *shared_edits(spec)]
    edited = sorted({edit.path for edit in edits})
    plan = [*sorted([*files, migration]), *(f"{path} (edited)" for path in edited)]
    if dry_run:
        return plan
    changed = {path: (root / path).read_text() for path in edited}
    for edit in edits:
        changed[edit.path] = edit.apply(changed[edit.path])
    try:
        for path, text in {**files, **changed}.items():
            (root / path).write_text(text)
        _write_migration(root, spec, migration, revision=revision, down_revision=down_revision)
    except BaseException:
        remove(root, spec)
        raise
    return plan


def remove(root: Path, spec: ResourceSpec) -> list[str]:
    """Delete the scaffold's files and undo its edits; what was done, and what was not found."""
    done: list[str] = []
    paths = [*render.file_templates(spec), *_migrations_of(root, spec)]
    for path in paths:
        if (root / path).exists():
            (root / path).unlink()
            done.append(f"deleted {path}")
    for edit in reversed(shared_edits(spec)):
        text = (root / edit.path).read_text()
        undone = edit.undo(text)
        if undone is None:
            done.append(f"not found in {edit.path}: {edit.lines[0].strip()}")
            continue
        (root / edit.path).write_text(undone)
        done.append(f"undone in {edit.path}: {edit.lines[0].strip()}")
    models = root / "threadline/database/models.py"
    without_row = remove_row(models.read_text(), f"{spec.cls}Row")
    if without_row is not None:
        models.write_text(without_row)
    done.append(("removed" if without_row is not None else "not found:") + f" class {spec.cls}Row")
    return done


def _refuse_existing(root: Path, spec: ResourceSpec) -> None:
    if spec.name in _TAKEN_NAMES or spec.plural in _TAKEN_NAMES:
        raise ScaffoldError(f"{spec.name!r} names something the project has already")
    taken = [path for path in render.file_templates(spec) if (root / path).exists()]
    taken += _migrations_of(root, spec)
    models = (root / "threadline/database/models.py").read_text()
    if f"class {spec.cls}Row(" in models or f'__tablename__ = "{spec.plural}"' in models:
        taken.append(f"threadline/database/models.py: {spec.cls}Row")
    if re.search(rf"^\s*{spec.plural}(=|\.router,|,)", (root / "threadline/app.py").read_text(), re.M):
        taken.append(f"threadline/app.py: {spec.plural}")
    if f'"{spec.name}.' in (root / "threadline/models/domain/event.py").read_text():
        taken.append(f"event types {spec.name}.*")
    if taken:
        raise ScaffoldError(f"{spec.name!r} exists already: {', '.join(taken)}")


def _refuse_unless_latest(root: Path, spec: ResourceSpec) -> None:
    """A migration that a later one builds on cannot go: that would break the chain of revisions."""
    head, _ = _next_revision(root)
    for path in _migrations_of(root, spec):
        if int(Path(path).name[:4]) + 1 != int(head):
            raise ScaffoldError(f"{path} is not the latest migration: remove the later scaffolds first")


def _migrations_of(root: Path, spec: ResourceSpec) -> list[str]:
    return sorted(
        f"{VERSIONS}/{path.name}" for path in (root / VERSIONS).glob(f"[0-9][0-9][0-9][0-9]_{spec.plural}.py")
    )


def _next_revision(root: Path) -> tuple[str, str]:
    """The new revision's id and the current head's: revisions are numbered ``0001``, ``0002``, …"""
    numbers = [int(path.name[:4]) for path in (root / VERSIONS).glob("[0-9][0-9][0-9][0-9]_*.py")]
    if not numbers:
        raise ScaffoldError("no migrations to build on")
    head = max(numbers)
    return f"{head + 1:04d}", f"{head:04d}"


def _write_migration(root: Path, spec: ResourceSpec, path: str, *, revision: str, down_revision: str) -> None:
    """Autogenerate against the current head, write it, then check it, each in a fresh interpreter that
    imports the models just written."""
    message = f"{spec.plural_words.capitalize()} of a {spec.parent.value} (scaffolded)."
    with tempfile.TemporaryDirectory(prefix="threadline-scaffold-") as directory:
        common = ["--database", f"{directory}/scratch.db", "--table", spec.plural]
        common += ["--revision", revision, "--down-revision", down_revision]
        text = _autogenerate(root, "generate", *common, "--message", message)
        (root / path).write_text(_formatted(root, {path: text})[path])
        _autogenerate(root, "check", *common)


def _autogenerate(root: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "threadline.scaffold.autogenerate", *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ScaffoldError(f"the migration's {args[0]} failed:\n{result.stderr.strip()}")
    return result.stdout


def _formatted(root: Path, files: dict[str, str]) -> dict[str, str]:
    """Each text as ``ruff check --fix`` (imports sorted, unused ones dropped) and ``ruff format`` leave it,
    with the project's own settings: written to a scratch copy of their paths, two ruff runs for all."""
    config = ["--config", str(root / "pyproject.toml")]
    with tempfile.TemporaryDirectory(prefix="threadline-scaffold-") as directory:
        scratch = Path(directory)
        for path, text in files.items():
            (scratch / path).parent.mkdir(parents=True, exist_ok=True)
            (scratch / path).write_text(text)
        for command in (["check", "--fix", "--exit-zero", "--quiet"], ["format", "--quiet"]):
            result = subprocess.run(
                [sys.executable, "-m", "ruff", *command, *config, "."],
                cwd=scratch,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise ScaffoldError(f"ruff could not format the scaffold:\n{result.stderr.strip()}")
        return {path: (scratch / path).read_text() for path in files}
