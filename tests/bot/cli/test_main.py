"""The command line as a user meets it: exit codes, one-line errors, masked secrets, JSON."""

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from feeds.models import ParsedItem
from storage.db import connect
from storage.items import PushState, insert_new_items
from storage.sources import sync_sources

ROOT = Path(__file__).resolve().parents[3]
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"

MINIMAL = """
[bot]
name = "测试"
database = "db/parkbot.db"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网"
url = "http://127.0.0.1:9/news/"
type = "html"
[sources.select]
item = "ul.news-list > li"
title = "a"
link = "a@href"

[[subscribers]]
id = "members"
platform = "wecom"
webhook = "${WECOM_URL}"
"""


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """A small valid config whose robot key comes from the environment."""
    monkeypatch.setenv("WECOM_URL", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}")
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run parkbot in-process; return exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_config_passes_check_with_no_environment(tmp_path, capsys, monkeypatch):
    for name in ("PARKBOT_ADMIN_TOKEN", "PARKBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check")
    assert (code, err) == (0, "")
    assert "hnkfq-news" in out and "console" in out
    assert (tmp_path / "data" / "parkbot.db").exists()


def test_check_masks_secrets(config_file, capsys):
    code, out, err = run(capsys, "-c", str(config_file), "check")
    assert code == 0, err
    assert "members" in out and "qyapi.weixin.qq.com" in out
    assert WECOM_KEY not in out and WECOM_KEY[8:] not in out


def test_config_flag_after_the_command_and_from_environment(config_file, capsys, monkeypatch):
    assert run(capsys, "check", "--config", str(config_file))[0] == 0
    monkeypatch.setenv("PARKBOT_CONFIG", str(config_file))
    assert run(capsys, "check")[0] == 0


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('name = "测试"', 'name = "测试"\ntimezon = "Asia/Shanghai"', "bot.timezon"),
        ('url = "http://127.0.0.1:9/news/"', 'url = "htp://x"', "sources[0].url"),
        ('id = "members"', 'id = "members"\ndigest = "8 点半"', "subscribers[0].digest"),
        ("[bot]", '[polling]\ninterval = "半小时"\n[bot]', "polling.interval"),
        ('"${WECOM_URL}"', '"${NO_SUCH_VARIABLE}"', "subscribers[0].webhook"),
        ('item = "ul.news-list > li"', 'item = "li[[["', "sources[0].select.item"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(config_file, capsys, old, new, key):
    config_file.write_text(config_file.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    code, out, err = run(capsys, "check", "-c", str(config_file))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"config.toml: {key}: "), err
    assert "Traceback" not in err


def test_missing_config_file_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, "check", "-c", str(tmp_path / "nope.toml"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nope.toml" in err


def test_items_json_on_a_new_database_is_empty(config_file, capsys):
    code, out, _ = run(capsys, "items", "--json", "-c", str(config_file))
    assert code == 0 and json.loads(out) == []
    db_path = config_file.parent / "db" / "parkbot.db"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] >= 1


async def _store_sample(db_path: Path) -> None:
    now = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    db = await connect(db_path)
    await sync_sources(db, [("hnkfq-news", "http://127.0.0.1:9/news/")], now)
    item = ParsedItem(
        "u1", "http://hnkfq.com.cn/news/info_itemid_3763.html", "永州经开区创建五好园区", "", now
    )
    await insert_new_items(db, "hnkfq-news", [(item, PushState.PUSH)], now)
    await db.close()


def test_items_lists_searches_and_prints_local_times(config_file, capsys):
    asyncio.run(_store_sample(config_file.parent / "db" / "parkbot.db"))
    code, out, _ = run(capsys, "items", "--json", "--search", "五好", "-c", str(config_file))
    [row] = json.loads(out)
    assert row["title"] == "永州经开区创建五好园区" and row["source"] == "hnkfq-news"
    assert row["published"] == "2026-11-29T09:00:00+08:00"
    code, out, _ = run(capsys, "items", "-c", str(config_file))
    assert code == 0 and "11-29 09:00" in out and "五好园区" in out
    assert json.loads(run(capsys, "items", "--json", "--search", "招聘", "-c", str(config_file))[1]) == []


@pytest.mark.parametrize("args", [["--source", "nope"], ["--limit", "0"]])
def test_items_bad_arguments_exit_2(config_file, capsys, args):
    code, _, err = run(capsys, "items", *args, "-c", str(config_file))
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_backup_writes_a_database_that_passes_integrity_check(config_file, capsys, tmp_path):
    asyncio.run(_store_sample(config_file.parent / "db" / "parkbot.db"))
    code, _, err = run(capsys, "backup", str(tmp_path / "backups" / "copy.db"), "-c", str(config_file))
    assert code == 0, err
    with sqlite3.connect(tmp_path / "backups" / "copy.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT title FROM items").fetchall() == [("永州经开区创建五好园区",)]


def test_python_dash_m_bot_runs(config_file):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "items", "--json", "-c", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=30,
    )
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "[]", "")


def test_read_only_commands_work_while_another_process_holds_the_write_lock(config_file, capsys):
    assert run(capsys, "check", "-c", str(config_file))[0] == 0  # creates and fills the database
    writer = sqlite3.connect(config_file.parent / "db" / "parkbot.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the service in the middle of a long write
    try:
        copy = str(config_file.parent / "copy.db")
        for argv in (
            ["items"],
            ["items", "--json"],
            ["outbox"],
            ["check"],
            ["digest", "--preview"],
            ["backup", copy],
        ):
            code, _, err = run(capsys, *argv, "-c", str(config_file))
            assert (code, err) == (0, ""), argv
    finally:
        writer.rollback()
        writer.close()
