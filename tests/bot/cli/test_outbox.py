"""`parkbot outbox` and `parkbot check` after a robot refused messages for good."""

import asyncio
import json
from datetime import UTC, datetime

from bot.cli.main import main
from storage.db import connect
from storage.outbox import enqueue_messages, mark_dead
from storage.subscribers import mark_subscriber_failing, sync_subscribers

KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
CONFIG = f"""
[bot]
database = "parkbot.db"

[[subscribers]]
id = "members"
platform = "wecom"
webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
"""
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


async def _one_dead_one_pending(path) -> None:
    db = await connect(path)
    await sync_subscribers(db, ["members"], NOW)
    first, _ = await enqueue_messages(db, "members", "digest", "wecom", ['{"a": 1}', '{"a": 2}'], NOW)
    await mark_dead(db, first, "wecom 93000: 机器人地址无效或已被移出群: invalid webhook url")
    await mark_subscriber_failing(db, "members", "wecom 93000: invalid webhook url", NOW)
    await db.close()


def test_outbox_shows_dead_messages_and_requeues_them(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    asyncio.run(_one_dead_one_pending(tmp_path / "parkbot.db"))

    assert main(["check", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "failing" in out and "members: wecom 93000" in out and KEY not in out

    assert main(["outbox", "--json", "-c", str(config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["subscribers"][0] | {"oldest_pending": None} == {
        "subscriber": "members", "pending": 1, "sending": 0, "dead": 1, "sent": 0, "oldest_pending": None,
    }  # fmt: skip
    assert shown["dead"][0]["error"].startswith("wecom 93000")

    assert main(["outbox", "--retry-dead", "-c", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "requeued 1 dead message(s)"
    assert main(["outbox", "-c", str(config)]) == 0
    text = capsys.readouterr().out
    assert "dead messages" not in text and "members" in text
    assert main(["check", "-c", str(config)]) == 0
    assert "failing subscribers" not in capsys.readouterr().out


def test_outbox_unknown_subscriber_is_a_usage_error(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    assert main(["outbox", "--subscriber", "nope", "-c", str(config)]) == 2
    assert "no subscriber 'nope'" in capsys.readouterr().err
