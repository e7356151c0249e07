"""Digests: filters, the cap, announcements, the cursor, and `parkbot digest`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cli.main import main
from bot.cli.sending import SERVICE_SENDS
from bot.config.load import load_config
from bot.delivery.digest import DIGEST_CAP, DigestBuilder, due_subscribers
from feeds.models import ParsedItem
from storage.db import connect
from storage.deliveries import add_deliveries, digest_days
from storage.items import PushState, insert_new_items
from storage.sender_lock import SenderLock
from storage.sources import sync_sources
from storage.subscribers import sync_subscribers

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
CONFIG = """
[bot]
name = "园区快讯"
database = "parkbot.db"

[server]
public_url = "https://parkbot.example.cn"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网"
url = "http://127.0.0.1:9/news/"
type = "feed"

[[sources]]
id = "gxt"
name = "湖南省工信厅"
url = "http://127.0.0.1:9/gxt/"
type = "feed"

[[subscribers]]
id = "all"
platform = "console"
webhook = "{out}"

[[subscribers]]
id = "yongzhou"
platform = "console"
webhook = "-"
include = ["永州", "五好"]
exclude = ["招聘"]

[[subscribers]]
id = "gxt-only"
platform = "console"
webhook = "-"
sources = ["gxt"]
"""


@pytest.fixture
async def setup(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(out=tmp_path / "digest.txt"), encoding="utf-8")
    config = load_config(path, environ={})
    db = await connect(config.bot.database)
    await sync_sources(db, [(s.id, s.url) for s in config.sources], NOW)
    await sync_subscribers(db, [s.id for s in config.subscribers], NOW)
    yield config, db
    await db.close()


async def store(db, source: str, titles: list[str], at: datetime) -> None:
    items = [
        (ParsedItem(f"{source}-{t}", f"http://x.cn/{source}/{abs(hash(t))}.html", t, "", at), PushState.PUSH)
        for t in titles
    ]  # fmt: skip
    await insert_new_items(db, source, items, at)


async def test_filters_choose_each_subscribers_items(setup):
    config, db = setup
    await store(db, "hnkfq-news", ["永州经开区创建五好园区", "长沙经开区项目签约", "永州经开区招聘公告"], NOW)
    await store(db, "gxt", ["关于申报2027年省级五好园区的通知"], NOW)
    plans = {
        p.subscriber.id: p for p in await DigestBuilder(db, config, lambda: NOW).plan(config.subscribers)
    }
    assert [i.title for i in plans["yongzhou"].items] == [
        "永州经开区创建五好园区",
        "关于申报2027年省级五好园区的通知",
    ] or [i.title for i in plans["yongzhou"].items] == [
        "关于申报2027年省级五好园区的通知",
        "永州经开区创建五好园区",
    ]
    assert [i.source_id for i in plans["gxt-only"].items] == ["gxt"]
    assert len(plans["all"].items) == 4


async def test_cap_counts_the_rest_and_the_cursor_passes_it(setup):
    config, db = setup
    await store(db, "hnkfq-news", [f"园区快讯第{n}条" for n in range(DIGEST_CAP + 5)], NOW)
    builder = DigestBuilder(db, config, lambda: NOW)
    [plan] = await builder.plan([config.subscriber("all")])
    assert plan.shown == DIGEST_CAP and plan.message.footer == "另有 5 条未列出"
    assert plan.message.link == "https://parkbot.example.cn/feed.xml"
    await store(
        db, "hnkfq-news", ["复盘前一条：读取之后才入库"], NOW
    )  # stored after the read, before the write
    await builder.queue([plan], once_per_day=True)
    tomorrow = NOW + timedelta(days=1)
    [next_plan] = await DigestBuilder(db, config, lambda: tomorrow).plan([config.subscriber("all")])
    assert [i.title for i in next_plan.items] == [
        "复盘前一条：读取之后才入库"
    ]  # the 5 counted ones never return


async def test_announcements_lead_and_an_empty_digest_sends_nothing(setup):
    config, db = setup
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO announcements (title, body, author, targets, created_at) VALUES (?, ?, ?, ?, ?)",
            ("年会通知", "12月18日在长沙召开年会。", "cli", json.dumps(["yongzhou"]), NOW.isoformat()),
        )
    plans = {
        p.subscriber.id: p for p in await DigestBuilder(db, config, lambda: NOW).plan(config.subscribers)
    }
    assert plans["yongzhou"].message.text.startswith("【公告】年会通知")
    assert plans["all"].message is None  # nothing new, no announcement for it
    queued = await DigestBuilder(db, config, lambda: NOW).queue(list(plans.values()), once_per_day=True)
    assert [p.subscriber.id for p in queued] == ["yongzhou"]
    again = await DigestBuilder(db, config, lambda: NOW).queue(list(plans.values()), once_per_day=True)
    assert again == []  # once per day


def test_digest_command_preview_and_send(setup, tmp_path, capsys):
    config, _ = setup
    asyncio.run(_store_one(config))
    assert main(["digest", "--preview", "--json", "-c", str(config.path)]) == 0
    rows = {r["subscriber"]: r for r in json.loads(capsys.readouterr().out)}
    assert (
        rows["all"]["items"] == 1
        and rows["all"]["sent"] is False
        and "五好园区" in rows["all"]["messages"][0]
    )
    assert not (tmp_path / "digest.txt").exists()
    assert main(["digest", "--subscriber", "all", "--json", "-c", str(config.path)]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["sent"] is True and "五好园区" in (tmp_path / "digest.txt").read_text(encoding="utf-8")
    assert main(["digest", "--subscriber", "nope", "-c", str(config.path)]) == 2


async def _store_one(config) -> None:
    db = await connect(config.bot.database)
    await store(db, "hnkfq-news", ["永州经开区创建五好园区"], datetime.now(UTC))
    await db.close()


def test_digest_command_beside_a_running_service_only_queues(setup, tmp_path, capsys):
    config, _ = setup
    asyncio.run(_store_one(config))
    service = SenderLock(config.bot.database)  # the running service holds the sender lock
    assert service.acquire()
    try:
        assert main(["digest", "--subscriber", "all", "-c", str(config.path)]) == 0
    finally:
        service.release()
    assert capsys.readouterr().out.rstrip().endswith(SERVICE_SENDS)
    assert not (tmp_path / "digest.txt").exists()  # nothing sent by the command
    assert main(["outbox", "--json", "-c", str(config.path)]) == 0
    [row] = json.loads(capsys.readouterr().out)["subscribers"]
    assert (row["subscriber"], row["pending"]) == ("all", 1)


async def test_an_item_pushed_between_plan_and_queue_is_not_in_the_digest(setup):
    config, db = setup
    await store(db, "hnkfq-news", ["永州经开区创建五好园区", "长沙经开区项目签约"], NOW)
    builder = DigestBuilder(db, config, lambda: NOW)
    [plan] = await builder.plan([s for s in config.subscribers if s.id == "all"])
    pushed = next(i for i in plan.items if i.title.startswith("永州"))
    async with db.transaction() as conn:  # an instant push commits after the digest read the ledger
        await add_deliveries(conn, "all", [pushed.id], "instant", None, NOW)
    [queued] = await builder.queue([plan], once_per_day=True)
    assert [i.title for i in queued.items] == ["长沙经开区项目签约"]
    [payload] = [
        row[0] for row in await db.fetchall("SELECT payload FROM outbox WHERE subscriber_id = 'all'")
    ]
    assert "长沙经开区项目签约" in payload and "永州" not in payload


LATE = """
[bot]
database = "parkbot.db"

[[sources]]
id = "hnkfq-news"
url = "http://127.0.0.1:9/news/"
type = "feed"

[[subscribers]]
id = "night"
platform = "console"
webhook = "-"
digest = "23:45"
"""


def at_local(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


async def test_a_late_evening_digest_that_runs_after_midnight_belongs_to_its_own_day(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(LATE, encoding="utf-8")
    config = load_config(path, environ={})
    db = await connect(config.bot.database)
    try:
        await sync_sources(db, [("hnkfq-news", "http://127.0.0.1:9/news/")], at_local(28, 12, 0))
        await sync_subscribers(db, ["night"], at_local(28, 12, 0))
        await store(db, "hnkfq-news", ["永州经开区创建五好园区"], at_local(28, 20, 0))
        late = at_local(29, 0, 5)  # the 28th's 23:45 digest ran twenty minutes late
        builder = DigestBuilder(db, config, lambda: late)
        assert len(await builder.queue(await builder.plan(config.subscribers), once_per_day=True)) == 1
        assert await digest_days(db, "2026-11-28") == {"night"}
        assert due_subscribers(config, late, grace=timedelta(hours=3)) == {"night": "2026-11-28"}
        await store(db, "hnkfq-news", ["长沙经开区项目签约"], at_local(29, 20, 0))
        evening = at_local(29, 23, 45)
        builder = DigestBuilder(db, config, lambda: evening)
        [plan] = await builder.queue(await builder.plan(config.subscribers), once_per_day=True)
        assert [i.title for i in plan.items] == ["长沙经开区项目签约"]  # the 29th's digest is not skipped
        assert await digest_days(db, "2026-11-29") == {"night"}
    finally:
        await db.close()
