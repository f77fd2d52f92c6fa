"""``threadline scaffold`` end to end: two resources (one under a workspace, one under a conversation, every
field type) scaffolded into a throw-away copy of the project, whose linters and generated tests must pass
with no edit; then ``--remove`` must leave the copy exactly as it was.

The copy holds the checkout's files (``git ls-files``) and reuses this checkout's interpreter and mypy
cache; ``PYTHONPATH`` makes the copy's ``threadline`` the one imported. Slow-ish (a minute or two): it is
marked ``scaffold`` so that a quick local run can leave it out with ``-m "not scaffold"``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

EVERY_TYPE = [
    "title:str:max=120",
    "body:text?",
    "summary:text:max=500",
    "done:bool",
    "due:datetime?",
    "points:int?",
    "details:json?",
]
RESOURCES = {
    "task": ["--parent", "workspace", *(f"--field={field}" for field in EVERY_TYPE)],
    "bookmark": [
        "--parent",
        "conversation",
        "--field=label:str:max=40",
        "--field=pinned:bool?",
        "--field=position:int",
        "--field=seen_at:datetime",
        "--field=payload:json",
        "--field=note:text?:max=2000",
    ],
}
GENERATED_TESTS = [
    "tests/api/test_tasks.py",
    "tests/services/test_tasks.py",
    "tests/database/test_task_repository.py",
    "tests/api/test_bookmarks.py",
    "tests/services/test_bookmarks.py",
    "tests/database/test_bookmark_repository.py",
    # The document must describe the new operations and fields as it does the others.
    "tests/api/test_openapi.py",
]

pytestmark = pytest.mark.scaffold


def _checkout_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [path for path in listed if (ROOT / path).is_file()]


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The project's files in a temporary directory, deleted afterwards."""
    target = tmp_path_factory.mktemp("scaffold") / "project"
    for path in _checkout_files():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, target / path)
    if (ROOT / ".mypy_cache").is_dir():  # the third-party modules' analysis is most of mypy's time
        shutil.copytree(ROOT / ".mypy_cache", target / ".mypy_cache")
    yield target
    shutil.rmtree(target.parent, ignore_errors=True)


def _run(copy: Path, *command: str | Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(copy)}
    arguments = [str(part) for part in command]
    return subprocess.run(arguments, cwd=copy, env=environment, capture_output=True, text=True, check=False)


def _scaffold(copy: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return _run(copy, sys.executable, "-m", "threadline", "scaffold", *arguments)


def _tree(root: Path) -> dict[str, bytes]:
    """The project's files, but the tools' caches."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(root).parts)
    }


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def test_two_scaffolds_pass_the_linters_and_their_own_tests_and_remove_cleanly(copy: Path) -> None:
    before = _tree(copy)
    dry = _scaffold(copy, "task", *RESOURCES["task"], "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "threadline/database/migrations/versions/0008_tasks.py" in dry.stdout
    assert _changed(before, _tree(copy)) == []

    for name, arguments in RESOURCES.items():
        started = time.monotonic()
        result = _scaffold(copy, name, *arguments)
        assert result.returncode == 0, result.stdout + result.stderr
        print(result.stdout, f"({time.monotonic() - started:.1f} s)")
    again = _scaffold(copy, "task", "--field=title:str")
    assert again.returncode == 2
    assert "exists already" in again.stderr

    _lint_and_test(copy)

    for name in reversed(RESOURCES):
        removed = _scaffold(copy, name, "--remove")
        assert removed.returncode == 0, removed.stderr
        assert "not found" not in removed.stdout, removed.stdout
    assert _changed(before, _tree(copy)) == []


def _lint_and_test(copy: Path) -> None:
    """mypy and the import contracts run beside the ruff checks and the tests: each is mostly waiting."""
    environment = {**os.environ, "PYTHONPATH": str(copy)}
    background = {
        name: subprocess.Popen(
            [str(BIN / name)], cwd=copy, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for name in ("mypy", "lint-imports")
    }
    for check in (["check"], ["format", "--check"]):
        linted = _run(copy, BIN / "ruff", *check, "threadline", "tests")
        assert linted.returncode == 0, linted.stdout + linted.stderr
    started = time.monotonic()
    tested = _run(copy, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *GENERATED_TESTS)
    print(f"generated tests: {time.monotonic() - started:.1f} s, {tested.stdout.strip().splitlines()[-1]}")
    assert tested.returncode == 0, tested.stdout[-5000:] + tested.stderr[-2000:]
    for name, process in background.items():
        output, _ = process.communicate()
        assert process.returncode == 0, f"{name}: {output.decode()[-5000:]}"
