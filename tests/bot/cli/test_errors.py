"""What users and operations throw at the command line comes back as one line on stderr and an exit code."""

import os
import sqlite3
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


# Commands that only read (items, check, outbox, digest --preview, backup) work beside a writer:
# tests/bot/cli/test_main.py. These must write.
@pytest.mark.parametrize("command", [["outbox", "--retry-dead"], ["digest"]])
def test_a_database_locked_by_another_process_is_one_line(config, capsys, monkeypatch, command):
    monkeypatch.setenv("PARKBOT_BUSY_TIMEOUT_MS", "50")  # rather than wait the 5 s a user would
    holder = sqlite3.connect(database_of(config), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long transaction of the service holds it
    try:
        code, line = one_line_error(capsys, *command, "-c", str(config))
    finally:
        holder.rollback()
        holder.close()
    busy = f"database {database_of(config)} is busy (another process is writing); try again"
    assert (code, line) == (1, f"parkbot {command[0]}: {busy}")


def test_a_busy_timeout_that_is_not_a_number_is_a_config_error(config, capsys, monkeypatch):
    monkeypatch.setenv("PARKBOT_BUSY_TIMEOUT_MS", "5s")
    code, line = one_line_error(capsys, "items", "-c", str(config))
    assert code == 2 and line.startswith("PARKBOT_BUSY_TIMEOUT_MS: "), line


def test_a_damaged_database_is_one_line_naming_it(config, capsys):
    with sqlite3.connect(database_of(config)) as conn:
        conn.execute("DROP TABLE items_fts")  # the schema version still says all is there
    code, line = one_line_error(capsys, "items", "--search", "五好园区", "-c", str(config))
    assert code == 1 and line.startswith(f"parkbot items: database {database_of(config)}: "), line
    assert "items_fts" in line


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


def test_argument_errors_are_one_line(config, capsys):
    code, line = one_line_error(capsys, "items", "--limit", "abc", "-c", str(config))
    assert code == 2 and line.startswith("parkbot items: argument --limit: invalid int value"), line


@pytest.mark.parametrize(
    "target",
    [
        "parkbot.db",
        "parkbot.db-wal",
        "parkbot.db-shm",
        "elsewhere/../parkbot.db",
        "link.db",  # a symlink to the database
        "hard.db",  # a second name of the same file
    ],
)
def test_a_backup_onto_the_live_database_is_refused(config, capsys, target):
    database = database_of(config)
    (config.parent / "elsewhere").mkdir()
    (config.parent / "link.db").symlink_to(database)
    os.link(database, config.parent / "hard.db")
    before = database.stat()
    code, line = one_line_error(capsys, "backup", str(config.parent / target), "-c", str(config))
    assert code == 2 and line.startswith(f"parkbot backup: {config.parent / target}: "), line
    assert "live database" in line
    assert database.stat().st_ino == before.st_ino and database.stat().st_mtime_ns == before.st_mtime_ns
    assert main(["check", "-c", str(config)]) == 0
