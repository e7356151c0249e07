"""`parkbot poll` as a user runs it: against the fake site, JSON per the contract, errors per source."""

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime

from bot.cli.main import main
from bot.cli.sending import SERVICE_SENDS
from bot.config.load import load_config
from bot.database import open_database
from storage.outbox import outbox_counts
from storage.sender_lock import SenderLock
from storage.sources import record_poll_failure
from tests.fakes import samples

CONFIG = """
[bot]
database = "parkbot.db"

[polling]
timeout = "1s"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网·园区快讯"
url = "{list_url}"
type = "html"
[sources.select]
item = "ul.news-list > li"
title = "a@title"
link = "a@href"
date = "span.date"

[[sources]]
id = "broken"
url = "{broken_url}"
type = "feed"

[[sources]]
id = "paused"
url = "{broken_url}"
type = "feed"
enabled = false
"""


async def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run parkbot in a worker thread (it runs its own event loop) while the fake site serves."""
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def write_config(tmp_path, news_site, news_server):
    news_site.set_page(
        "/news/list_1.html",
        samples.gbk_list_page(samples.ITEMS[:4], host=f"127.0.0.1:{news_server.port}"),
        "text/html",
    )
    path = tmp_path / "config.toml"
    text = CONFIG.format(
        list_url=news_server.make_url("/news/list_1.html"), broken_url=news_server.make_url("/hostile/500")
    )
    path.write_text(text, encoding="utf-8")
    return path


async def test_poll_json_reports_each_enabled_source(tmp_path, news_site, news_server, capsys):
    config = await write_config(tmp_path, news_site, news_server)
    code, out, err = await run_cli(capsys, "poll", "--json", "-c", str(config))
    assert code == 0 and err == ""
    rows = {row["source"]: row for row in json.loads(out)}
    assert set(rows) == {"hnkfq-news", "broken"}
    assert (rows["hnkfq-news"]["status"], rows["hnkfq-news"]["new"], rows["hnkfq-news"]["error"]) == (
        "ok",
        4,
        None,
    )
    assert rows["broken"]["status"] == "error" and "HTTP 500" in rows["broken"]["error"]
    code, out, _ = await run_cli(capsys, "poll", "--json", "--source", "hnkfq-news", "-c", str(config))
    assert [(r["source"], r["status"], r["new"]) for r in json.loads(out)] == [
        ("hnkfq-news", "not_modified", 0)
    ]
    code, out, _ = await run_cli(capsys, "items", "--json", "-c", str(config))
    assert len(json.loads(out)) == 4


async def test_poll_table_and_disabled_source_by_name(tmp_path, news_site, news_server, capsys):
    config = await write_config(tmp_path, news_site, news_server)
    code, out, err = await run_cli(capsys, "poll", "--source", "paused", "-c", str(config))
    assert code == 1  # every source polled failed
    assert "paused" in out and "error" in out and "HTTP 500" in out
    assert "\r" not in err  # no progress bar when standard error is not a terminal


async def test_poll_unknown_source_is_a_usage_error(tmp_path, news_site, news_server, capsys):
    config = await write_config(tmp_path, news_site, news_server)
    code, out, err = await run_cli(capsys, "poll", "--source", "nope", "-c", str(config))
    assert (code, out) == (2, "") and err.strip() == "parkbot poll: --source: no source 'nope' in config.toml"


INSTANT = """
[bot]
database = "parkbot.db"
staff_alerts = "staff"

[polling]
timeout = "1s"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网·园区快讯"
url = "{list_url}"
type = "html"
[sources.select]
item = "ul.news-list > li"
title = "a@title"
link = "a@href"
date = "span.date"

[[sources]]
id = "broken"
name = "坏掉的来源"
url = "{broken_url}"
type = "feed"

[[subscribers]]
id = "members"
platform = "console"
webhook = "{members}"
digest = "off"
instant = true

[[subscribers]]
id = "staff"
platform = "console"
webhook = "{staff}"
digest = "off"
"""


def fresh(items, first_id: int):
    """The sample items as if published now, under new ids (so they are new and not stale)."""
    now = datetime.now(UTC)
    return [replace(item, itemid=first_id + n, published=now) for n, item in enumerate(items)]


async def test_poll_pushes_instant_items_and_staff_alerts_or_leaves_them_to_the_service(
    tmp_path, news_site, news_server, capsys
):
    host = f"127.0.0.1:{news_server.port}"
    page = "/news/list_1.html"
    news_site.set_page(page, samples.gbk_list_page(samples.ITEMS[3:], host=host), "text/html")
    path = tmp_path / "config.toml"
    members, staff = tmp_path / "members.txt", tmp_path / "staff.txt"
    path.write_text(
        INSTANT.format(list_url=news_server.make_url(page), broken_url=news_server.make_url("/hostile/500"),
                       members=members, staff=staff),
        encoding="utf-8",
    )  # fmt: skip
    config = load_config(path, environ={})
    assert (await run_cli(capsys, "poll", "-c", str(path)))[0] == 0  # seeds: nothing pushed
    db = await open_database(config, datetime.now(UTC))
    for _ in range(9):  # the broken source has failed nine times before
        await record_poll_failure(db, "broken", error="HTTP 500", empty=False, now=datetime.now(UTC),
                                  next_poll_at=datetime.now(UTC))  # fmt: skip
    await db.close()

    news_site.set_page(page, samples.gbk_list_page([*fresh(samples.ITEMS[:2], 9000), *samples.ITEMS[3:]],
                                                   host=host), "text/html")  # fmt: skip
    code, out, _ = await run_cli(capsys, "poll", "-c", str(path))
    assert code == 0 and "queued" not in out
    assert members.read_text(encoding="utf-8").count("info_itemid_900") == 2  # pushed by the command
    assert "坏掉的来源" in staff.read_text(encoding="utf-8")  # the tenth failure's staff alert

    beside = SenderLock(config.bot.database)  # a running service holds the sender lock
    assert beside.acquire()
    try:
        news_site.set_page(page, samples.gbk_list_page([*fresh(samples.ITEMS[2:3], 9100), *samples.ITEMS[3:]],
                                                       host=host), "text/html")  # fmt: skip
        code, out, _ = await run_cli(capsys, "poll", "--source", "hnkfq-news", "-c", str(path))
    finally:
        beside.release()
    assert code == 0 and out.rstrip().endswith(SERVICE_SENDS)
    assert "info_itemid_9100" not in members.read_text(encoding="utf-8")  # left to the service
    db = await open_database(config, datetime.now(UTC))
    try:
        assert [(c.subscriber_id, c.pending) for c in await outbox_counts(db)] == [
            ("members", 1),
            ("staff", 0),
        ]
    finally:
        await db.close()
