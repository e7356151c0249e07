"""Project-wide rules: imports flow bot → handlers → storage → feeds, and ruff is clean."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "feeds")
# What each package may import of ours; storage may use feeds' types only.
ALLOWED = {
    "feeds": ("feeds",),
    "storage": ("storage", "feeds.models"),
    "handlers": ("handlers", "storage", "feeds"),
    "bot": PACKAGES,
}


def imports_of(path: Path) -> list[str]:
    """Return the absolute module names that a file imports."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def violations() -> list[str]:
    """Return one line per import that goes against the direction."""
    found = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imports_of(path):
                ours = name.split(".")[0] in PACKAGES
                if ours and not any(name == a or name.startswith(a + ".") for a in allowed):
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_imports_flow_one_way():
    assert violations() == []


def test_relative_imports_are_not_used():
    relative = [
        str(p.relative_to(ROOT))
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(p.read_text("utf-8"))))
    ]
    assert relative == []


@pytest.mark.skipif(
    shutil.which("ruff") is None and not Path(sys.executable).with_name("ruff").exists(),
    reason="ruff is not installed",
)
def test_ruff_is_clean():
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    folders = [name for name in (*PACKAGES, "tests", "bench") if (ROOT / name).is_dir()]
    result = subprocess.run(
        [ruff, "check", "--no-cache", *folders],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
