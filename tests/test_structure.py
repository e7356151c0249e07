"""Project-wide rules: import contracts, mypy and ruff clean, absolute imports, documented packages."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "feeds")


def tool(name: str) -> str | None:
    """Return the path of a console script installed beside this Python, else on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def test_import_contracts_are_kept():
    # bot → handlers → storage → feeds; storage sees feeds.models only; platforms import no delivery,
    # web, cli or config; nothing imports the cli (see [tool.importlinter] in pyproject.toml).
    lint_imports = tool("lint-imports")
    assert lint_imports, "import-linter is not installed: pip install -e '.[test]'"
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_check():
    # mypy over bot/, feeds/, storage/ and handlers/ ([tool.mypy] in pyproject.toml), at zero errors
    mypy = tool("mypy")
    assert mypy, "mypy is not installed: pip install -e '.[test]'"
    result = subprocess.run([mypy], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_relative_imports_are_not_used():
    relative = [
        str(p.relative_to(ROOT))
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(p.read_text("utf-8"))))
    ]
    assert relative == []


def test_every_package_says_what_belongs_in_it():
    silent = [
        str(init.relative_to(ROOT))
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
        if not ast.get_docstring(ast.parse(init.read_text("utf-8")))
    ]
    assert silent == []


@pytest.mark.skipif(tool("ruff") is None, reason="ruff is not installed")
def test_ruff_is_clean():
    folders = [name for name in (*PACKAGES, "tests", "bench") if (ROOT / name).is_dir()]
    result = subprocess.run(
        [str(tool("ruff")), "check", "--no-cache", *folders],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
