"""The layer rules of DESIGN.md §1 hold, and the seed's layout is in place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "threadline"


def test_import_linter_contracts_are_kept() -> None:
    """SQLAlchemy only under database/; services know no FastAPI or API models; the API no rows."""
    result = subprocess.run(
        [Path(sys.executable).with_name("lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert result.stdout.count("KEPT") >= 3


@pytest.mark.parametrize(
    "path",
    [
        "models/domain",
        "models/api/request",
        "models/api/response",
        "database/models.py",
        "database/repositories",
        "database/migrations/versions",
        "services",
        "api/routers",
        "settings.py",
        "errors.py",
        "app.py",
    ],
)
def test_seed_layout_exists(path: str) -> None:
    """Each layer's place holds code: a folder at least one module, and each module some definition."""
    target = PACKAGE / path
    modules = (
        [module for module in target.glob("*.py") if module.name != "__init__.py"]
        if target.is_dir()
        else [target]
    )

    assert modules, f"{path} holds no module"
    assert [module.name for module in modules if not _defines_something(module)] == []


def _defines_something(module: Path) -> bool:
    """A class or a function at the top level, not only imports and constants."""
    definitions = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    return any(isinstance(node, definitions) for node in ast.parse(module.read_text()).body)
