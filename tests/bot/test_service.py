"""A day in the life of the service, on the fake news site and fake WeCom robots, with a hand-moved clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.app import build_service
from bot.config.load import load_config
from bot.database import open_database
from handlers.context import DigestPreviewer, StatusSource
from storage.deliveries import digest_days
from storage.sources import source_by_id
from tests.fakes import samples
from tests.fakes.chat_platforms import FakeWeCom, ManualClock
from tests.fakes.samples import ITEMS, SampleItem

MORNING = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 07:30 in Changsha
DIGEST_TIME = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 08:30 in Changsha
LIST = "/news/list_1.html"

CONFIG = """
[bot]
name = "园区快讯"
database = "parkbot.db"

[polling]
interval = "30m"
timeout = "2s"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网"
url = "{list_url}"
type = "html"
[sources.select]
item = "ul.news-list > li"
title = "a@title"
link = "a@href"
date = "span.date"

[[subscribers]]
id = "members"
platform = "wecom"
webhook = "{robot}members"
digest = "08:30"

[[subscribers]]
id = "yongzhou"
platform = "wecom"
webhook = "{robot}yongzhou"
digest = "08:30"
include = ["永州"]

[[subscribers]]
id = "staff"
platform = "wecom"
webhook = "{robot}staff"
digest = "08:30"
instant = true
"""


class World:
    """The fake site, the fake robots, the clock and a way to (re)start the service."""

    def __init__(self, tmp_path, news_site, news_server, robots: FakeWeCom, robot_server, clock) -> None:
        self.site, self.server, self.robots, self.clock = news_site, news_server, robots, clock
        self.host = f"127.0.0.1:{news_server.port}"
        path = tmp_path / "config.toml"
        robot = str(robot_server.make_url("/cgi-bin/webhook/send")) + "?key="
        path.write_text(CONFIG.format(list_url=news_server.make_url(LIST), robot=robot), encoding="utf-8")
        self.config = load_config(path, environ={})
        self.db = self.session = self.service = None

    def publish(self, items) -> None:
        self.site.set_page(LIST, samples.gbk_list_page(items, host=self.host), "text/html")

    async def start(self):
        self.db = await open_database(self.config, self.clock())
        self.session = aiohttp.ClientSession()
        self.service = build_service(self.config, self.db, self.session, clock=self.clock, executor=None)
        await self.service.start()
        return self.service

    async def stop(self) -> None:
        self.service.deliverer.release()  # as the process's exit would
        await self.session.close()
        await self.db.close()

    async def at(self, moment: datetime) -> None:
        """Move the clock, run the jobs the scheduler would run by then, and deliver."""
        self.clock.now = moment
        await self.service.poll_due()
        await self.drain()

    async def drain(self) -> None:
        deliverer = self.service.deliverer
        for _ in range(100):
            await deliverer.deliver_due()
            wake = await deliverer.next_wake()
            if wake is None or wake > self.clock.now + timedelta(minutes=5):
                return
            self.clock.now = max(self.clock.now, wake)

    def links(self, key: str) -> list[str]:
        """Every item link a robot received, in order (duplicates kept)."""
        found = []
        for body in self.robots.received_by(key):
            content = body["markdown"]["content"]
            found += [part.split(")")[0] for part in content.split("](")[1:]]
        return found


@pytest.fixture
async def world(tmp_path, news_site, news_server, aiohttp_server):
    clock = ManualClock(MORNING)
    robots = FakeWeCom(clock=clock)
    for key in ("members", "yongzhou", "staff"):
        robots.add_robot(key)
    robot_server = await aiohttp_server(robots.app())
    world = World(tmp_path, news_site, news_server, robots, robot_server, clock)
    yield world
    if world.db is not None:
        await world.stop()


def url(world: World, item: SampleItem) -> str:
    return item.url(f"http://{world.host}")


async def test_a_day_in_the_life(world):
    older, fresh = ITEMS[3:], ITEMS[:3]  # fresh[0] is Yongzhou's 五好园区 item
    world.publish(older)
    await world.start()
    await world.at(MORNING + timedelta(minutes=11))  # first poll, spread over the first 10 minutes
    assert (await source_by_id(world.db, "hnkfq-news")).seeded_at is not None
    assert world.robots.received == []  # seeded items are never pushed

    world.publish(fresh + older)
    await world.at(MORNING + timedelta(minutes=45))  # 08:15: the 30-minute poll finds three new items
    assert sorted(world.links("staff")) == sorted(url(world, i) for i in fresh)  # one instant message
    assert len(world.robots.received_by("staff")) == 1

    # a restart in the middle of the morning changes nothing
    await world.stop()
    await world.start()

    assert await digest_days(world.db, "2026-11-30") == set()  # 08:15: no digest is due yet
    await world.at(DIGEST_TIME)
    await world.service.send_digests(None, scheduled=True)  # the 08:30 cron job
    await world.drain()
    assert sorted(world.links("members")) == sorted(url(world, i) for i in fresh)
    assert world.links("yongzhou") == [url(world, ITEMS[0])]  # include = ["永州"]
    assert (
        len(world.robots.received_by("staff")) == 1
    )  # its items went out instantly: empty digest, nothing sent

    await world.service.send_digests(None, scheduled=True)  # a second run the same day sends nothing
    await world.stop()
    await world.start()  # a restart after the digest: no catch-up, it was sent
    await world.drain()
    for key in ("members", "yongzhou", "staff"):
        links = world.links(key)
        assert len(links) == len(set(links)), key  # nothing delivered twice


async def test_metrics_count_polls_and_deliveries(world):
    world.publish(ITEMS[3:])
    await world.start()
    await world.at(MORNING + timedelta(minutes=11))
    world.publish(ITEMS)
    await world.at(MORNING + timedelta(minutes=45))
    body, _ = world.service.metrics.render()
    text = body.decode()
    assert 'parkbot_polls_total{source="hnkfq-news",status="ok"} 2.0' in text
    assert 'parkbot_new_items_total{source="hnkfq-news"} 8.0' in text
    assert 'parkbot_deliveries_total{platform="wecom",result="sent"} 1.0' in text


async def test_maintenance_removes_old_items_but_never_their_uids(world):
    world.publish(ITEMS)
    await world.start()
    await world.at(MORNING + timedelta(minutes=11))
    world.clock.now += world.config.bot.retention + timedelta(days=1)
    done = await world.service.maintenance()
    assert done.items == len(ITEMS)
    state = await source_by_id(world.db, "hnkfq-news")
    world.clock.now = state.next_poll_at
    # a different body (shortened link texts) with the same items: parsed again, nothing new
    world.site.set_page(LIST, samples.gbk_list_page(ITEMS, host=world.host, truncate=12), "text/html")
    [result] = await world.service.poll_due()
    assert result.status == "ok" and result.new == ()  # the same items seen again are not new


async def test_missed_digest_is_sent_once_on_start(world):
    world.publish(ITEMS[3:])
    await world.start()
    await world.at(MORNING + timedelta(minutes=11))
    world.publish(ITEMS)
    await world.at(MORNING + timedelta(minutes=45))
    await world.stop()  # down from 08:15 until 09:40: the 08:30 digest was missed
    world.clock.now = DIGEST_TIME + timedelta(minutes=70)
    await world.start()
    await world.drain()
    assert len(world.robots.received_by("members")) == 1
    assert await digest_days(world.db, "2026-11-30") == {"members", "yongzhou", "staff"}
    await world.stop()
    world.clock.now += timedelta(minutes=10)
    await world.start()
    await world.drain()
    assert len(world.robots.received_by("members")) == 1  # never twice for the same day


async def test_a_digest_missed_by_more_than_the_grace_is_not_sent_late(world):
    world.publish(ITEMS)
    await world.start()
    await world.stop()
    world.clock.now = DIGEST_TIME + timedelta(hours=4, minutes=30)  # 13:00: later than the grace
    await world.start()
    assert await digest_days(world.db, "2026-11-30") == set()


async def test_first_polls_are_spread_and_later_polls_jittered(world):
    world.publish(ITEMS)
    await world.start()
    state = await source_by_id(world.db, "hnkfq-news")
    assert MORNING <= state.next_poll_at <= MORNING + timedelta(minutes=10)
    await world.at(state.next_poll_at)
    after = await source_by_id(world.db, "hnkfq-news")
    wait = after.next_poll_at - state.next_poll_at
    assert timedelta(minutes=28) <= wait <= timedelta(minutes=32)


async def test_the_service_answers_the_handlers_protocols(world):
    world.publish(ITEMS[3:])
    service = await world.start()
    status: StatusSource = service  # what a chat command's context holds
    previewer: DigestPreviewer = service
    assert await previewer.preview_digest("members") is None  # nothing stored yet
    await world.at(MORNING + timedelta(minutes=11))
    world.publish(ITEMS)
    await world.at(MORNING + timedelta(minutes=45))
    found = await status.service_status()
    assert (found.sources, found.sources_failing, found.outbox_dead) == (1, 0, 0)
    assert found.last_poll == MORNING + timedelta(minutes=45)
    preview = await previewer.preview_digest("yongzhou")
    assert preview is not None and ITEMS[0].title in preview
    assert await digest_days(world.db, "2026-11-30") == set()  # a preview queues nothing
    with pytest.raises(KeyError):
        await previewer.preview_digest("nobody")


async def test_items_found_after_retention_emptied_the_table_still_reach_the_digest(world):
    world.publish(ITEMS[3:])
    await world.start()
    await world.at(MORNING + timedelta(minutes=11))  # seeded
    world.publish(ITEMS)
    await world.at(MORNING + timedelta(minutes=45))
    await world.at(DIGEST_TIME)
    await world.service.send_digests(None, scheduled=True)
    await world.drain()
    before = len(world.robots.received_by("members"))
    # a quiet spell longer than retention: every item is removed, the digest cursor stays where it was
    world.clock.now += world.config.bot.retention + timedelta(days=1)
    await world.service.maintenance()
    fresh = [
        replace(i, itemid=i.itemid + 1000, published=world.clock.now - timedelta(hours=1)) for i in ITEMS[:2]
    ]
    world.publish(fresh)
    state = await source_by_id(world.db, "hnkfq-news")
    await world.at(state.next_poll_at)
    await world.service.send_digests(["members"], scheduled=False)
    await world.drain()
    assert len(world.robots.received_by("members")) == before + 1
    assert sorted(world.links("members")[-2:]) == sorted(url(world, i) for i in fresh)


async def test_items_stored_by_a_poll_whose_push_never_ran_are_pushed_after_a_restart(world):
    world.publish(ITEMS[3:])
    await world.start()
    await world.at(MORNING + timedelta(minutes=11))  # seeded
    world.publish(ITEMS)
    world.clock.now = MORNING + timedelta(minutes=45)
    await world.service.poller.poll_all(world.config.sources)  # stored, then the process died
    assert world.robots.received_by("staff") == []
    await world.stop()
    await world.start()
    await world.drain()
    assert sorted(world.links("staff")) == sorted(url(world, i) for i in ITEMS[:3])
