"""A redesign changes the links, not the news; a burst of fresh news is never one."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from feeds.models import ParsedItem
from feeds.redesign import comparable_title, is_redesign

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Changsha
YESTERDAY, LAST_WEEK = NOW - timedelta(days=1), NOW - timedelta(days=7)


def item(n: int, title: str, published: datetime | None, host: str = "hnkfq.com.cn") -> ParsedItem:
    url = f"http://{host}/news/{n}.html"
    return ParsedItem(uid=url, url=url, title=title, summary="", published_at=published)


KNOWN = [(f"永州经开区项目第{n}批签约", YESTERDAY if n % 2 else LAST_WEEK) for n in range(10)]
OLD_PAGE = [item(n, title, at) for n, (title, at) in enumerate(KNOWN)]


def test_titles_compare_without_spaces_punctuation_or_case():
    assert comparable_title(" 永州经开区：“五好”园区 AI ") == comparable_title("永州经开区五好园区ai")


def test_old_titles_under_new_links_are_a_redesign():
    moved = [item(n + 500, f"{title} ", at, "www.hnkfq.com.cn") for n, (title, at) in enumerate(KNOWN)]
    assert is_redesign(moved, moved, KNOWN, TZ, NOW)


def test_new_links_with_retitled_old_items_dated_on_seen_days_are_a_redesign():
    retitled = [item(n + 500, f"【园区快讯】{n}", at, "www.hnkfq.com.cn") for n, (_, at) in enumerate(KNOWN)]
    assert is_redesign(retitled, retitled, KNOWN, TZ, NOW)


def test_forty_fresh_items_dated_today_are_news():
    fresh = [item(n + 100, f"第{n}批园区重点项目集中开工", NOW - timedelta(hours=1)) for n in range(40)]
    assert not is_redesign(fresh + OLD_PAGE[:5], fresh, KNOWN, TZ, NOW)
    assert not is_redesign(fresh, fresh, KNOWN, TZ, NOW)  # even when they push every known link off


def test_fresh_items_beside_a_known_link_or_undated_are_news():
    retitled = [item(n + 500, f"标题{n}", at) for n, (_, at) in enumerate(KNOWN)]
    assert not is_redesign([*retitled, OLD_PAGE[0]], retitled, KNOWN, TZ, NOW)  # a known link is still there
    undated = [item(n + 500, f"标题{n}", None) for n in range(10)]
    assert not is_redesign(undated, undated, KNOWN, TZ, NOW)


def test_small_pages_and_mostly_known_pages_are_never_a_redesign():
    moved = [item(n + 500, title, at) for n, (title, at) in enumerate(KNOWN[:4])]
    assert not is_redesign(moved, moved, KNOWN, TZ, NOW)  # fewer than five items
    assert not is_redesign(OLD_PAGE, OLD_PAGE[:5], KNOWN, TZ, NOW)  # half new is not most
