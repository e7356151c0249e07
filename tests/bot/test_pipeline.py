"""The poll cycle against the fake news site: seeding, dedup, edits, redesigns, failures and backoff."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.config.types import PollingConfig, SelectConfig, SourceConfig
from bot.pipeline import Poller, backoff
from storage.alerts import open_alerts
from storage.items import PushState, newest_items
from storage.sources import source_by_id, sync_sources
from tests.fakes import samples
from tests.fakes.samples import ITEMS, SampleItem
from tests.feeds.test_charset import GBK_FEED_TITLES, damaged, gbk_rss

TZ = ZoneInfo("Asia/Shanghai")
LIST = "/news/list_1.html"
SELECT = SelectConfig(item="ul.news-list > li", title="a@title", link="a@href", date="span.date")


def polling(**overrides) -> PollingConfig:
    """Polling settings small enough for tests."""
    values = dict(
        interval=timedelta(minutes=30),
        timeout=timedelta(seconds=0.5),
        max_body=1024 * 1024,
        per_host=2,
        user_agent="parkbot-test",
        first_fetch="seed",
    )
    return PollingConfig(**(values | overrides))


def html_source(url: str, source_id: str = "hnkfq-news", **overrides) -> SourceConfig:
    """An HTML list-page source."""
    values = dict(
        id=source_id,
        name="湖南开发区网",
        url=url,
        type="html",
        interval=timedelta(minutes=30),
        encoding=None,
        enabled=True,
        select=SELECT,
    )
    return SourceConfig(**(values | overrides))


def feed_source(url: str, source_id: str) -> SourceConfig:
    """A feed source."""
    return html_source(url, source_id, type="feed", select=None)


class Clock:
    """A clock that tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(fixed_now):
    return Clock(fixed_now)


@pytest.fixture
async def make_poller(db, clock):
    """Build a poller on one client session, with the sources given registered in the database."""
    async with aiohttp.ClientSession() as session:

        async def build(*sources: SourceConfig, **settings) -> Poller:
            from bot.pipeline import build_fetcher

            config = polling(**settings)
            await sync_sources(db, [(s.id, s.url) for s in sources], clock.now)
            fetcher = build_fetcher(session, config)
            return Poller(db, fetcher, config, TZ, clock=clock)

        yield build


def list_page(site, server, items: tuple[SampleItem, ...], **kwargs) -> str:
    """Serve a GBK list page with these items; return its URL."""
    host = f"127.0.0.1:{server.port}"
    site.set_page(LIST, samples.gbk_list_page(items, host=host), "text/html", **kwargs)
    return str(server.make_url(LIST))


async def test_first_poll_seeds_gbk_page_with_chinese_intact(db, news_site, news_server, make_poller):
    source = html_source(list_page(news_site, news_server, ITEMS))
    poller = await make_poller(source)
    result = await poller.poll(source)
    assert (result.status, len(result.new), result.error) == ("ok", len(ITEMS), None)
    stored = {i.title: i for i in await newest_items(db, limit=50)}
    base = f"http://127.0.0.1:{news_server.port}"
    for sample in ITEMS:
        item = stored[" ".join(sample.title.split())]
        assert item.link == sample.url(base)
        assert item.published_at.astimezone(TZ).date() == sample.published.date()
        assert item.push_state is PushState.SEEDED


async def test_repoll_is_not_modified_then_unchanged(news_site, news_server, make_poller):
    source = html_source(list_page(news_site, news_server, ITEMS[:4]))
    poller = await make_poller(source)
    await poller.poll(source)
    second = await poller.poll(source)
    assert second.status == "not_modified"
    assert news_site.requests[-1].headers.get("If-None-Match")
    list_page(news_site, news_server, ITEMS[:4], honour_validators=False)
    assert (await poller.poll(source)).status == "unchanged"


async def test_added_removed_edited_and_resurrected_items(db, news_site, news_server, make_poller, clock):
    source = html_source(list_page(news_site, news_server, ITEMS[1:5]))
    poller = await make_poller(source)
    await poller.poll(source)
    # a new item on top, the oldest slides off
    list_page(news_site, news_server, ITEMS[0:4])
    clock.now += timedelta(minutes=30)
    added = await poller.poll(source)
    assert [i.title for i in added.new] == [" ".join(ITEMS[0].title.split())]
    assert added.new[0].push_state is PushState.PUSH
    # an edited title under the same link is updated, never new
    edited = SampleItem(ITEMS[1].itemid, ITEMS[1].title + "（更新）", ITEMS[1].summary, ITEMS[1].published)
    list_page(news_site, news_server, (ITEMS[0], edited, *ITEMS[2:4]))
    result = await poller.poll(source)
    assert (len(result.new), result.updated) == (0, 1)
    # the item that slid off comes back into view: not new
    list_page(news_site, news_server, ITEMS[0:5])
    assert len((await poller.poll(source)).new) == 0
    assert len(await newest_items(db, limit=50)) == 5


async def test_first_fetch_push_still_holds_back_week_old_items(
    db, news_site, news_server, make_poller, clock
):
    source = html_source(list_page(news_site, news_server, ITEMS[:3]))
    clock.now = ITEMS[2].published + timedelta(days=7, hours=1)
    poller = await make_poller(source, first_fetch="push")
    result = await poller.poll(source)
    states = {i.title: i.push_state for i in result.new}
    assert states[" ".join(ITEMS[2].title.split())] is PushState.STALE
    assert states[" ".join(ITEMS[0].title.split())] is PushState.PUSH


async def test_redesign_holds_items_and_alerts_staff(db, news_site, news_server, make_poller):
    source = html_source(list_page(news_site, news_server, ITEMS[:6]))
    poller = await make_poller(source)
    await poller.poll(source)
    moved = tuple(SampleItem(i.itemid + 10000, i.title, i.summary, i.published) for i in ITEMS[:6])
    list_page(news_site, news_server, moved)
    result = await poller.poll(source)
    assert len(result.new) == 6 and {i.push_state for i in result.new} == {PushState.HELD}
    assert len(result.alerts) == 1 and "改版" in result.alerts[0]


@pytest.mark.parametrize(
    ("render", "content_type"),
    [
        (samples.rss20_gb2312, "application/rss+xml"),
        (samples.atom10, "application/atom+xml"),
        (samples.rdf10, "application/rdf+xml"),
        (samples.json_feed, "application/feed+json"),
        (lambda items: samples.rss20(items), "text/xml"),
    ],
)
async def test_every_feed_format(db, news_site, news_server, make_poller, render, content_type):
    news_site.set_page("/feed", render(ITEMS), content_type)
    source = feed_source(str(news_server.make_url("/feed")), "feed")
    poller = await make_poller(source)
    result = await poller.poll(source)
    assert (result.status, result.error, len(result.new)) == ("ok", None, len(ITEMS))
    titles = {i.title for i in await newest_items(db, limit=50)}
    assert " ".join(samples.YONGZHOU.title.split()) in titles


async def test_gbk_feed_with_one_bad_sequence_is_stored_in_chinese(db, news_site, news_server, make_poller):
    first, second, third = GBK_FEED_TITLES
    body = gbk_rss([first.encode("gb18030"), damaged(second), third.encode("gb18030")])
    news_site.set_page("/feed", body, "application/rss+xml; charset=gbk")
    source = feed_source(str(news_server.make_url("/feed")), "feed")
    poller = await make_poller(source)
    result = await poller.poll(source)
    assert (result.status, result.error, len(result.new)) == ("ok", None, 3)
    titles = {i.title for i in await newest_items(db, limit=50)}
    assert titles == {first, second[:-1] + "\ufffd", third}


async def test_a_page_nested_too_deep_fails_its_source_alone(db, news_site, news_server, make_poller):
    good = html_source(list_page(news_site, news_server, ITEMS[:3]), "good")
    news_site.set_page("/deep.html", "<html><body>" + "<div>" * 100_000, "text/html; charset=utf-8")
    deep = html_source(str(news_server.make_url("/deep.html")), "deep")
    poller = await make_poller(good, deep)
    results = {r.source_id: r for r in await poller.poll_all([deep, good])}
    assert results["good"].status == "ok" and len(results["good"].new) == 3
    assert results["deep"].status == "error"
    assert "parse error: page nests elements more than 512 deep" in results["deep"].error


async def test_failures_back_off_alert_once_and_clear(db, news_site, news_server, make_poller, clock):
    source = html_source(list_page(news_site, news_server, ITEMS[:3]))
    poller = await make_poller(source)
    news_site.fail_next(LIST, 11, 500)
    alerts = []
    for n in range(1, 12):
        result = await poller.poll(source)
        state = await source_by_id(db, source.id)
        assert (result.status, state.error_count) == ("error", n)
        assert state.next_poll_at == clock.now + backoff(source.interval, n)
        alerts += result.alerts
        clock.now = state.next_poll_at
    assert len(alerts) == 1 and "连续 10 次" in alerts[0]
    assert "HTTP 500" in (await source_by_id(db, source.id)).last_error
    ok = await poller.poll(source)
    assert ok.status == "ok" and (await source_by_id(db, source.id)).error_count == 0
    assert await open_alerts(db) == []


def test_backoff_doubles_and_caps_at_a_day():
    half_hour = timedelta(minutes=30)
    assert [backoff(half_hour, n) for n in (1, 2, 3)] == [half_hour, 2 * half_hour, 4 * half_hour]
    assert backoff(half_hour, 20) == timedelta(days=1)
    assert backoff(timedelta(minutes=1), 1, timedelta(seconds=120)) == timedelta(seconds=120)


async def test_retry_after_is_honoured(db, news_site, news_server, make_poller, clock):
    source = html_source(str(news_server.make_url("/hostile/429")), interval=timedelta(minutes=1))
    poller = await make_poller(source)
    await poller.poll(source)
    assert (await source_by_id(db, source.id)).next_poll_at == clock.now + timedelta(seconds=120)


async def test_selector_matching_nothing_alerts_after_three_polls(db, news_site, news_server, make_poller):
    url = list_page(news_site, news_server, ITEMS[:3])
    source = html_source(url, select=SelectConfig(item="div.gone li", title="a", link="a@href"))
    poller = await make_poller(source)
    results = [await poller.poll(source) for _ in range(4)]
    assert [len(r.alerts) for r in results] == [0, 0, 1, 0]
    assert "div.gone li" in results[2].alerts[0] and "matched nothing" in results[0].error


async def test_hostile_sources_fail_alone_while_the_good_one_succeeds(
    db, news_site, news_server, make_poller
):
    good = html_source(list_page(news_site, news_server, ITEMS[:3]), "good")
    hostile = [
        feed_source(str(news_server.make_url(path)), f"h{n}")
        for n, path in enumerate(
            [
                "/hostile/slow",
                "/hostile/huge",
                "/hostile/redirect-loop",
                "/hostile/billion-laughs.xml",
                "/hostile/junk.xml",
                "/hostile/500",
                "/hostile/429",
            ]
        )
    ]
    poller = await make_poller(good, *hostile)
    results = {r.source_id: r for r in await poller.poll_all([*hostile, good])}
    assert results["good"].status == "ok" and len(results["good"].new) == 3
    for source in hostile:
        result = results[source.id]
        assert result.status == "error", (source.url, result)
    assert "FetchTimeout" in results["h0"].error and "BodyTooLarge" in results["h1"].error
    assert "TooManyRedirects" in results["h2"].error


async def test_a_failure_that_cannot_even_be_recorded_leaves_the_other_sources_alone(
    db, news_site, news_server, make_poller
):
    good = html_source(list_page(news_site, news_server, ITEMS[:3]), "good")
    poller = await make_poller(good)
    unknown = html_source(good.url, "not-in-the-database")  # its state row cannot be read
    results = {r.source_id: r for r in await poller.poll_all([unknown, good])}
    assert results["good"].status == "ok" and len(results["good"].new) == 3
    assert results["not-in-the-database"].status == "error"
    assert "internal error" in results["not-in-the-database"].error


async def test_a_burst_of_fresh_news_is_pushed_not_held(db, news_site, news_server, make_poller, clock):
    source = html_source(list_page(news_site, news_server, ITEMS[:6]))
    poller = await make_poller(source)
    await poller.poll(source)  # established: seeded
    today = clock.now.astimezone(TZ).replace(hour=8, minute=0)
    burst = tuple(SampleItem(7000 + n, f"第{n}批园区重点项目集中开工", "", today) for n in range(40))
    list_page(news_site, news_server, burst + ITEMS[:6])
    result = await poller.poll(source)
    assert len(result.new) == 40 and {i.push_state for i in result.new} == {PushState.PUSH}
    assert result.alerts == ()
