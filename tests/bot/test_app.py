"""The aiohttp application: scheduler jobs and triggers, /healthz, /metrics, /feed.xml, clean shutdown."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build_app, reload_config
from bot.config.load import load_config
from bot.scheduler import build_scheduler, poll_due_sources
from bot.web.routes import SERVICE
from storage.db import connect
from storage.outbox import outbox_counts
from storage.sources import source_by_id
from tests.fakes.chat_platforms import ManualClock

NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
CONFIG = """
[bot]
name = "湖南开发区协会·园区快讯"
database = "parkbot.db"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网"
url = "http://127.0.0.1:9/news/"
type = "html"
[sources.select]
item = "li"
title = "a"
link = "a@href"

[[subscribers]]
id = "members"
platform = "wecom"
webhook = "{robot}"
digest = "08:30"

[[subscribers]]
id = "evening"
platform = "console"
webhook = "-"
digest = "18:00"
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(robot="http://127.0.0.1:9/cgi-bin/webhook/send?key=k"), encoding="utf-8")
    return load_config(path, environ={})


@pytest.fixture
async def client(aiohttp_client, config):
    app = build_app(config, clock=ManualClock(NOW), executor_factory=lambda: None, start_scheduler=False)
    return await aiohttp_client(app)


async def test_scheduler_registers_jobs_with_deliberate_triggers(client):
    service = client.app[SERVICE]
    scheduler = build_scheduler(service)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"poll_due_sources", "digest-0830", "digest-1800", "maintenance"}
    poll = jobs["poll_due_sources"]
    # a fallback cadence: the job itself moves its next run to the soonest source's due time
    assert isinstance(poll.trigger, IntervalTrigger) and poll.trigger.interval == timedelta(seconds=60)
    digest = jobs["digest-0830"]
    assert isinstance(digest.trigger, CronTrigger) and str(digest.trigger.timezone) == "Asia/Shanghai"
    assert str(digest.trigger) == "cron[hour='8', minute='30']"
    assert digest.args == (service, ["members"])
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True and job.misfire_grace_time >= 30
    assert jobs["digest-0830"].misfire_grace_time == 3 * 3600
    assert str(scheduler.timezone) == "Asia/Shanghai"


async def test_healthz_reports_sources_outbox_and_digests(client):
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["problems"] == []
    assert body["sources"] == {"ok": 0, "failing": 0, "new": 1}
    assert body["subscribers"] == {"total": 2, "failing": 0}
    assert body["outbox"] == {"pending": 0, "dead": 0}
    assert body["last_digest"] is None


async def test_healthz_is_degraded_while_the_database_refuses_writes_and_says_why(client, caplog):
    service = client.app[SERVICE]
    await service.db.conn.execute("PRAGMA busy_timeout = 50")  # rather than wait the 5 s default
    other = await connect(service.db.path)
    async with other.transaction():  # another process holds the write lock
        await service.poll_sources(service.config.sources)
        body = await (await client.get("/healthz")).json()
    await other.close()
    assert body["status"] == "degraded"
    assert body["problems"] == ["cannot write parkbot.db: database is locked (another process is writing)"]
    ours = [r for r in caplog.records if r.name.startswith("bot.")]
    assert [r.getMessage() for r in ours if r.levelname == "ERROR"] == [
        "poll not stored source_id=hnkfq-news error=cannot write parkbot.db: database is locked"
        " (another process is writing)"
    ]
    assert all(r.exc_info is None for r in ours)  # one line, no traceback
    await service.poll_sources(service.config.sources)  # the lock is gone: the failure is recorded
    assert (await (await client.get("/healthz")).json())["problems"] == ["1 source(s) failing"]


async def test_healthz_is_503_when_the_database_is_unusable(client):
    await client.app[SERVICE].db.close()
    response = await client.get("/healthz")
    assert response.status == 503 and (await response.json())["status"] == "error"


async def test_metrics_in_prometheus_format(client):
    service = client.app[SERVICE]
    service.metrics.poll("hnkfq-news", "ok")
    service.metrics.command("最新", 0.02)
    response = await client.get("/metrics")
    assert response.status == 200
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    assert {"parkbot_polls", "parkbot_outbox_pending", "parkbot_command_latency_seconds"} <= set(families)
    [sample] = [s for s in families["parkbot_polls"].samples if s.name == "parkbot_polls_total"]
    assert sample.labels == {"source": "hnkfq-news", "status": "ok"} and sample.value == 1


async def test_feed_xml_is_valid_atom_with_etag(client):
    from feeds.models import ParsedItem
    from storage.items import PushState, insert_new_items

    db = client.app[SERVICE].db
    item = ParsedItem(
        "u1", "http://hnkfq.com.cn/news/info_itemid_5821.html", "永州经开区创建“五好”园区 <新>", "", NOW
    )
    await insert_new_items(db, "hnkfq-news", [(item, PushState.PUSH)], NOW)
    response = await client.get("/feed.xml")
    assert response.status == 200 and response.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(await response.read())
    assert not parsed.bozo and parsed.version == "atom10"
    assert parsed.entries[0].title == "永州经开区创建“五好”园区 <新>"
    again = await client.get("/feed.xml", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


async def test_feed_xml_is_rendered_once_per_change_including_another_processs(client):
    from feeds.models import ParsedItem
    from storage.items import PushState, insert_new_items

    service = client.app[SERVICE]
    first = await (await client.get("/feed.xml")).read()
    service.clock.now += timedelta(minutes=5)  # a re-render would show a new <updated> time
    assert await (await client.get("/feed.xml")).read() == first  # served from memory
    other = await connect(service.db.path)  # parkbot poll, run beside the service
    item = ParsedItem("u2", "http://hnkfq.com.cn/news/info_itemid_5822.html", "长沙经开区项目签约", "", NOW)
    await insert_new_items(other, "hnkfq-news", [(item, PushState.PUSH)], NOW)
    await other.close()
    changed = await (await client.get("/feed.xml")).read()
    assert changed != first and "长沙经开区项目签约" in changed.decode()


async def test_shutdown_with_a_message_in_flight_leaves_it_to_be_resent(
    aiohttp_server, aiohttp_client, tmp_path
):
    from aiohttp import web

    arrived, never = asyncio.Event(), asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        arrived.set()
        await never.wait()  # a robot that never answers
        return web.json_response({"errcode": 0})

    robot = web.Application()
    robot.router.add_post("/cgi-bin/webhook/send", hang)
    robot_server = await aiohttp_server(robot)
    path = tmp_path / "config.toml"
    path.write_text(
        CONFIG.format(robot=robot_server.make_url("/cgi-bin/webhook/send?key=k")), encoding="utf-8"
    )
    config = load_config(path, environ={})
    app = build_app(config, executor_factory=lambda: None, start_scheduler=False, stop_grace=0.1)
    client = await aiohttp_client(app)
    service = app[SERVICE]
    from bot.platforms.message import Message

    await service.deliverer.enqueue(config.subscriber("members"), Message("reply", "回复", text="五好园区"))
    await asyncio.wait_for(arrived.wait(), 5)
    await client.close()  # the app's cleanup: scheduler, delivery worker, session, database
    from storage.db import connect

    db = await connect(config.bot.database)
    [counts] = await outbox_counts(db)
    await db.close()
    assert counts.sending + counts.pending == 1 and counts.sent == 0  # kept, to be sent again on start
    never.set()


async def test_the_poll_job_wakes_when_the_soonest_source_is_due(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.replace('type = "html"', 'type = "html"\ninterval = "20s"').format(
        robot="http://127.0.0.1:9/cgi-bin/webhook/send?key=k"), encoding="utf-8")  # fmt: skip
    clock = ManualClock(NOW)
    app = build_app(load_config(path, environ={}), clock=clock, executor_factory=lambda: None,
                    start_scheduler=False)  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        service = client.app[SERVICE]
        scheduler = build_scheduler(service)
        scheduler.start(paused=True)
        try:
            state = await source_by_id(service.db, "hnkfq-news")
            clock.now = state.next_poll_at  # its first poll, somewhere in the start-up spread
            await poll_due_sources(service, scheduler)  # the site is down: retried after one interval
            after = await source_by_id(service.db, "hnkfq-news")
            assert after.next_poll_at == clock.now + timedelta(seconds=20)
            assert scheduler.get_job("poll_due_sources").next_run_time == after.next_poll_at  # not a minute
        finally:
            scheduler.shutdown(wait=False)


async def test_a_reload_applies_a_valid_file_and_keeps_the_running_one_on_a_bad_one(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.app")
    path = tmp_path / "config.toml"
    robot = "http://127.0.0.1:9/cgi-bin/webhook/send?key=k"
    path.write_text(CONFIG.format(robot=robot), encoding="utf-8")
    app = build_app(load_config(path, environ={}), clock=ManualClock(NOW), executor_factory=lambda: None,
                    start_scheduler=False)  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        service = client.app[SERVICE]
        scheduler = build_scheduler(service)
        scheduler.start(paused=True)
        try:
            gxt = '[[sources]]\nid = "gxt"\nname = "工信厅"\nurl = "http://127.0.0.1:9/gxt/"\ntype = "feed"\n'
            changed = CONFIG.replace('digest = "18:00"', 'digest = "17:30"') + "\n" + gxt
            path.write_text(changed.format(robot=robot), encoding="utf-8")
            assert await reload_config(service, scheduler, service.deliverer.session)
            assert [s.id for s in service.config.sources] == ["hnkfq-news", "gxt"]
            assert {j.id for j in scheduler.get_jobs()} >= {"digest-0830", "digest-1730"}
            assert "digest-1800" not in {j.id for j in scheduler.get_jobs()}
            new = await source_by_id(service.db, "gxt")
            assert NOW <= new.next_poll_at <= NOW + timedelta(minutes=10)  # scheduled with the spread
            assert "reloaded sources=2 added=gxt removed=-" in caplog.text

            path.write_text(changed.replace('timezone = "', 'timezon = "') + "\n[polling]\nintervall = 3\n",
                            encoding="utf-8")  # fmt: skip
            caplog.clear()
            assert not await reload_config(service, scheduler, service.deliverer.session)
            assert [s.id for s in service.config.sources] == ["hnkfq-news", "gxt"]  # unchanged
            [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
            assert line.startswith("reload refused, the running configuration stays: config.toml: polling.")
        finally:
            scheduler.shutdown(wait=False)
