"""The HTML list pages of the shared third-party corpus, read with the selectors its index describes."""

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest

from feeds.html_list import parse_list_page
from feeds.models import ListSelectors, ParsedItem

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "html-pages"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# The Hunan excerpts were saved in late March 2018; their dates have no year.
NOW = datetime(2018, 3, 25, 4, 0, tzinfo=UTC)

# index.json states selectors as notes for people ("a[title]@title (or a text)"); these are the
# concrete selectors per (file, list name), with the page URL we resolve links against.
SELECTORS: dict[tuple[str, str], tuple[str, ListSelectors]] = {
    ("list-dfa66-fund-announcements.html", "main"): (
        "https://www.dfa66.com/dfaets/news/infodisclosure/announcement/index.html",
        ListSelectors(item="ul.glist > li", title="a@title", link="a@href", date="span.t"),
    ),
    ("list-rtfund-xxpl-meta-gb2312-bytes-utf8.html", "main"): (
        "https://www.rtfund.com/main/xxpl/index.shtml",
        ListSelectors(item="div.info_ne.disblock > ul > li", title="a", link="a@href", date="span"),
    ),
    ("list-hrfund-announcements.html", "main"): (
        "https://www.hrfund.com.cn/main/xxpl/index.html",
        ListSelectors(item="div.infor-con ul.fixed > li", title="h2 > a", link="h2 > a@href", date="i"),
    ),
    ("list-changsha-gov-cn-home-2018.excerpt.html", "政务动态"): (
        "http://www.changsha.gov.cn/",
        ListSelectors(
            item="div.slideText1 div.bd > ul:first-child > li", title="a@title", link="a@href", date="span"
        ),
    ),
    ("list-changsha-gov-cn-home-2018.excerpt.html", "通知公告"): (
        "http://www.changsha.gov.cn/",
        ListSelectors(
            item="div.slideText2 div.bd > ul:nth-child(1) > li", title="a@title", link="a@href", date="span"
        ),
    ),
    ("list-changsha-gov-cn-home-2018.excerpt.html", "便民资讯"): (
        "http://www.changsha.gov.cn/",
        ListSelectors(
            item="div.slideText2 div.bd > ul:nth-child(2) > li", title="a@title", link="a@href", date="span"
        ),
    ),
    ("list-hunan-gov-cn-home-2018.excerpt.html", "main"): (
        "http://www.hunan.gov.cn/",
        ListSelectors(item="#newsList ul.news-list.news_list1 > li", title="a", link="a@href"),
    ),
}


def list_cases() -> list[tuple[str, str, dict]]:
    index = CORPUS / "index.json"
    if not index.is_file():
        return []
    pages = json.loads(index.read_text(encoding="utf-8"))["pages"]
    return [
        (page["file"], name, expected)
        for page in pages
        if page["kind"] == "list"
        for name, expected in page["expected"].items()
    ]


def decode(body: bytes) -> str:
    # Until feeds/charset.py is wired in: the rtfund page declares gb2312 but is UTF-8 bytes.
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030")


def expected_link(link: str, page_url: str) -> str:
    """Expected links are as written in the page; compare them as resolved paths."""
    return urlsplit(urljoin(page_url, link)).path


def assert_item(item: ParsedItem, want: dict, page_url: str) -> None:
    assert item.title == want["title"]
    assert urlsplit(item.url).path == expected_link(want["link"], page_url)
    assert urlsplit(item.url).netloc == urlsplit(page_url).netloc
    if want["date"] is None:
        assert item.published_at is None
    else:
        assert item.published_at is not None
        local = item.published_at.astimezone(SHANGHAI)
        shown = local.strftime("%m-%d" if len(want["date"]) == 5 else "%Y-%m-%d")
        assert shown == want["date"]
        assert (local.hour, local.minute) == (0, 0)


@pytest.fixture(autouse=True)
def _need_corpus() -> None:
    if not (CORPUS / "index.json").is_file():
        pytest.skip("shared corpus not present beside the repository")


def test_every_list_page_in_the_index_has_selectors() -> None:
    assert {(file, name) for file, name, _ in list_cases()} == set(SELECTORS)


@pytest.mark.parametrize(
    ("file", "name", "expected"),
    list_cases() or [pytest.param("", "", {}, marks=pytest.mark.skip(reason="shared corpus absent"))],
)
def test_list_page_matches_index(file: str, name: str, expected: dict) -> None:
    page_url, select = SELECTORS[(file, name)]
    html = decode((CORPUS / file).read_bytes())
    feed = parse_list_page(html, url=page_url, select=select, now=NOW, tz=SHANGHAI)
    assert feed.title
    assert len(feed.items) == expected["count"]
    for item, want in zip(feed.items, expected["first"], strict=False):
        assert_item(item, want, page_url)
    assert_item(feed.items[-1], expected["last"], page_url)


def test_meta_gb2312_page_is_really_utf8() -> None:
    body = (CORPUS / "list-rtfund-xxpl-meta-gb2312-bytes-utf8.html").read_bytes()
    assert b"gb2312" in body[:2000].lower()
    assert "融通" in decode(body)


def test_hunan_dates_hidden_in_comments_are_found_with_the_item_as_date_element() -> None:
    html = decode((CORPUS / "list-hunan-gov-cn-home-2018.excerpt.html").read_bytes())
    select = ListSelectors(item="#newsList ul.news-list.news_list1 > li", title="a", link="a@href", date="li")
    feed = parse_list_page(html, url="http://www.hunan.gov.cn/", select=select, now=NOW, tz=SHANGHAI)
    days = [item.published_at.astimezone(SHANGHAI).strftime("%Y-%m-%d") for item in feed.items]
    assert days == ["2018-03-18"] * 3 + ["2018-03-19", "2018-03-16", "2018-03-19", "2018-03-19", "2018-03-19"]
    # The URL path carries the publishing day too; the commented-out dates agree with it.
    assert all(f"t{day.replace('-', '')}" in item.url for day, item in zip(days, feed.items, strict=True))


def test_changsha_titles_come_untruncated_from_the_title_attribute() -> None:
    html = decode((CORPUS / "list-changsha-gov-cn-home-2018.excerpt.html").read_bytes())
    page_url, select = SELECTORS[("list-changsha-gov-cn-home-2018.excerpt.html", "通知公告")]
    feed = parse_list_page(html, url=page_url, select=select, now=NOW, tz=SHANGHAI)
    assert not any(item.title.endswith("...") for item in feed.items)
    assert feed.items[0].url == (
        "http://www.changsha.gov.cn/xxgk/szfxxgkml/tzgg/201803/t20180315_2196834.html"
    )
