"""`parkbot poll` as a user runs it: against the fake site, JSON per the contract, errors per source."""

import asyncio
import json

from bot.cli.main import main
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
