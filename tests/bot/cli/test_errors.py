"""What users and operations throw at the command line comes back as one line on stderr and an exit code."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
CONFIG = """
[bot]
database = "parkbot.db"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网"
url = "http://127.0.0.1:9/news/"
type = "feed"

[[subscribers]]
id = "console"
platform = "console"
"""


@pytest.fixture
def config(tmp_path) -> Path:
    """A small valid config whose database has been created."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    assert main(["check", "-c", str(path)]) == 0
    return path


def database_of(config: Path) -> Path:
    return config.parent.resolve() / "parkbot.db"


def one_line_error(capsys, *argv: str) -> tuple[int, str]:
    """Run parkbot in-process and return its exit code and its only line on stderr (nothing on stdout)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 1 and "Traceback" not in err, err
    return code, lines[0]


@pytest.mark.parametrize(
    "text",
    [
        " ".join(["园区"] * 1700),  # 5,000 characters of LIKE terms: "Expression tree is too large"
        " ".join(["五好园区"] * 1000),  # the same with full-text terms
        "园" * 5000,  # one term too long to be a search
        "五好\udcff\udcfe",  # bytes that are not UTF-8 in the argument
    ],
)
def test_a_search_the_database_cannot_run_is_a_usage_error(config, capsys, text):
    code, line = one_line_error(capsys, "items", "--search", text, "-c", str(config))
    assert code == 2 and line.startswith("parkbot items: --search: "), line
    assert len(line) < 200


def test_search_text_with_control_characters_and_fts_syntax_just_searches(config, capsys):
    for text in ("五好\x00园区", 'NEAR(a b) OR * ^ - : "" "', "\t"):
        assert main(["items", "--json", "--search", text, "-c", str(config)]) == 0
        assert capsys.readouterr().out.strip() == "[]"


@pytest.mark.parametrize("limit", ["99999999999999999999", "1001", "0", "-3"])
def test_a_limit_out_of_range_is_a_usage_error(config, capsys, limit):
    code, line = one_line_error(capsys, "items", "--limit", limit, "-c", str(config))
    assert (code, line) == (2, "parkbot items: --limit: must be between 1 and 1000")


def test_the_largest_limit_is_accepted(config, capsys):
    assert main(["items", "--limit", "1000", "-c", str(config)]) == 0


def test_a_reader_that_goes_away_ends_the_output_quietly(config):
    reader, writer = os.pipe()
    os.close(reader)  # `parkbot check | head -3` once head has read its lines and exited
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "check", "-c", str(config)],
            stdout=writer, stderr=subprocess.PIPE, cwd=ROOT, timeout=30, check=False,
        )  # fmt: skip
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr.decode()) == (1, "")
