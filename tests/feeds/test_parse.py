"""Tests for feeds.parse: every feed format, Chinese charsets, zone-less dates, broken and hostile input."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest

from feeds.errors import ParseError
from feeds.models import ParsedFeed
from feeds.parse import parse_date, parse_feed
from tests.feeds.test_charset import GBK_FEED_TITLES, damaged, gbk_rss

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEED_URL = "http://hnkfq.com.cn/rss/feed.xml"
NINE_AM_BEIJING = datetime(2021, 12, 13, 1, 0, tzinfo=UTC)
# 镕 and 喆 are in GBK but not in GB2312.
GB_TITLES = ["朱镕基同志题词展在长沙经开区开幕", "陶喆助阵园区招商推介会"]


def parse(name: str, content_type: str | None = "text/xml", **kwargs: Any) -> ParsedFeed:
    body = (DATA / name).read_bytes()
    return parse_feed(body, url=FEED_URL, content_type=content_type, tz=SHANGHAI, **kwargs)


@pytest.mark.parametrize(
    ("name", "content_type", "title", "first_title", "count"),
    [
        ("rss20-gb2312.xml", "application/rss+xml", "湖南开发区网·园区快讯", GB_TITLES[0], 2),
        ("rss091.xml", "text/xml", "衡阳高新区", "衡阳高新区举办人才招聘会", 1),
        ("rss10.rdf", "application/rdf+xml", "株洲高新区新闻", "株洲高新区获评国家级绿色园区", 2),
        ("atom03.xml", "application/atom+xml", "常德经开区动态", "常德经开区召开安全生产会议", 1),
        ("atom10.xml", "application/atom+xml", "湖南省人民政府·要闻", "湘江新区发布产业新政", 2),
        ("jsonfeed.json", "application/feed+json", "湘潭经开区·JSON Feed", "湘潭经开区新签约项目 12 个", 2),
        ("jsonfeed.json", "text/plain", "湘潭经开区·JSON Feed", "湘潭经开区新签约项目 12 个", 2),
    ],
)
def test_each_format(name: str, content_type: str, title: str, first_title: str, count: int) -> None:
    feed = parse(name, content_type)
    assert feed.title == title
    assert feed.items[0].title == first_title
    assert len(feed.items) == count


@pytest.mark.parametrize(
    ("content_type", "override"),
    [
        ("text/xml; charset=gb2312", None),
        ("text/xml", None),
        (None, None),
        ("text/xml; charset=utf-8", None),  # a lying header: the XML declaration is tried next
        ("text/html; charset=ISO-8859-1", None),
        ("text/xml; charset=utf-8", "gbk"),
    ],
)
def test_gb2312_feed_keeps_gbk_only_characters(content_type: str | None, override: str | None) -> None:
    feed = parse("rss20-gb2312.xml", content_type, encoding=override)
    assert [item.title for item in feed.items] == GB_TITLES
    assert feed.items[0].summary == "展览 共展出 题词 120 幅。"


@pytest.mark.parametrize("damage", ["cut", "stray"])
@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=gbk", "text/xml"])
def test_gbk_feed_with_one_bad_sequence_keeps_every_other_title(damage: str, content_type: str) -> None:
    first, second, third = GBK_FEED_TITLES
    body = gbk_rss([first.encode("gb18030"), damaged(second, damage), third.encode("gb18030")])
    feed = parse_feed(body, url=FEED_URL, content_type=content_type, tz=SHANGHAI)
    assert feed.title == "园区快讯"
    titles = [item.title for item in feed.items]
    assert titles[0] == first and titles[2] == third
    assert titles[1] == (second[:-1] + "\ufffd" if damage == "cut" else "\ufffd" + second)


def test_summaries_and_html_titles_are_read_by_an_html_parser() -> None:
    descriptions = [
        "<p>园区<!-- 注释里的 <b>标签</b> -->快讯</p>",
        "<p>摘要：<![CDATA[长沙经开区<b>签约</b>]]>项目</p>",
        '<p><a title="a > b" href="/x">链接</a>正文</p>',
        '<p>正文</p><script>var s = "<p>广告</p>";</script><style>p > a { color: red }</style>尾',
        "<p>园区&nbsp;快讯\u3000第一期</p>",
    ]
    items = "".join(
        f"<item><title>条目{n}</title><link>/{n}</link><description>{escape(html)}</description></item>"
        for n, html in enumerate(descriptions)
    )
    rss = f'<rss version="2.0"><channel><title>园区快讯</title>{items}</channel></rss>'
    feed = parse_feed(rss.encode(), url=FEED_URL, content_type="application/rss+xml", tz=SHANGHAI)
    assert [item.summary for item in feed.items] == [
        "园区快讯",
        "摘要：长沙经开区签约项目",
        "链接正文",
        "正文 尾",
        "园区 快讯 第一期",
    ]
    title = escape("<b>长沙</b>经开区<!-- x -->")
    atom = (
        f'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="html">{title}</title></entry></feed>'
    )
    assert (
        parse_feed(atom.encode(), url=FEED_URL, content_type=None, tz=SHANGHAI).items[0].title == "长沙经开区"
    )


def test_a_summary_nested_too_deep_is_a_parse_error() -> None:
    rss = (
        '<rss version="2.0"><channel><title>t</title><item><title>x</title><link>/1</link><description>'
        + "&lt;div&gt;" * 100_000
        + "</description></item></channel></rss>"
    )
    with pytest.raises(ParseError, match="deep"):
        parse_feed(rss.encode(), url=FEED_URL, content_type="application/rss+xml", tz=SHANGHAI)


def test_bare_feedparser_would_need_help_with_gbk_label() -> None:
    body = (DATA / "rss20-gb2312.xml").read_bytes()
    gbk_labelled = body.replace(b'encoding="gb2312"', b'encoding="x-gbk"')
    bare = feedparser.parse(io.BytesIO(gbk_labelled), response_headers={"content-type": "text/xml"})
    assert "朱镕基" not in bare.entries[0].title
    ours = parse_feed(gbk_labelled, url=FEED_URL, content_type="text/xml", tz=SHANGHAI)
    assert ours.items[0].title.startswith("朱镕基")


def test_undeclared_gbk_feed_is_detected() -> None:
    body = (DATA / "rss20-gb2312.xml").read_bytes().replace(b' encoding="gb2312"', b"")
    feed = parse_feed(body, url=FEED_URL, content_type=None, tz=SHANGHAI)
    assert [item.title for item in feed.items] == GB_TITLES


@pytest.mark.parametrize("content_type", ["text/xml; charset=gb2312", "application/xml", "text/xml"])
def test_gb2312_declared_utf8_feed(content_type: str) -> None:
    feed = parse("rss20-utf8-declared-gb2312.xml", content_type)
    assert feed.items[0].title == "声明 gb2312 实为 UTF-8：朱镕基题词展在长沙经开区开幕"
    assert feed.items[1].title == "陶喆助阵园区招商推介会"


def test_unknown_override_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no-such"):
        parse("rss20-gb2312.xml", encoding="no-such")


def test_naive_dates_are_read_in_the_source_zone() -> None:
    assert parse("rss20-gb2312.xml").items[0].published_at == NINE_AM_BEIJING  # "2021-12-13 09:00:00"
    assert parse("atom10.xml").items[0].published_at == NINE_AM_BEIJING  # Atom <updated> without zone
    assert parse("rss10.rdf").items[0].published_at == NINE_AM_BEIJING  # dc:date without zone
    assert parse("jsonfeed.json").items[0].published_at == NINE_AM_BEIJING


def test_zone_aware_dates_are_kept() -> None:
    assert parse("rss20-gb2312.xml").items[1].published_at == datetime(2021, 12, 13, 2, 30, tzinfo=UTC)
    assert parse("atom10.xml").items[1].published_at == datetime(2021, 12, 13, 9, 0, tzinfo=UTC)
    assert parse("rss10.rdf").items[1].published_at == NINE_AM_BEIJING
    assert parse("atom03.xml").items[0].published_at == NINE_AM_BEIJING
    assert parse("rss091.xml").items[0].published_at is None


def test_naive_dates_follow_the_given_zone() -> None:
    feed = parse_feed((DATA / "rss20-gb2312.xml").read_bytes(), url=FEED_URL, content_type=None, tz=UTC)
    assert feed.items[0].published_at == datetime(2021, 12, 13, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-12-13 09:00:00", NINE_AM_BEIJING),
        ("2021-12-13T09:00", NINE_AM_BEIJING),
        ("2021/12/13 9:00", NINE_AM_BEIJING),
        ("2021年12月13日 09:00", NINE_AM_BEIJING),
        ("2021-12-13", datetime(2021, 12, 12, 16, 0, tzinfo=UTC)),
        ("Mon, 13 Dec 2021 09:00:00", NINE_AM_BEIJING),
        ("Mon, 13 Dec 2021 09:00:00 CST", NINE_AM_BEIJING),  # China Standard Time, not US Central
        ("2021-12-13 09:00:00 CST", NINE_AM_BEIJING),
        ("Mon, 13 Dec 2021 09:00:00 +0800", NINE_AM_BEIJING),
        ("Mon, 13 Dec 2021 09:00:00 GMT+8", NINE_AM_BEIJING),
        ("Mon, 13 Dec 2021 10:00:00 JST", NINE_AM_BEIJING),
        ("Mon, 13 Dec 2021 01:00:00 GMT", NINE_AM_BEIJING),
        ("Sun, 12 Dec 2021 20:00:00 EST", NINE_AM_BEIJING),
        ("13 Dec 21 01:00 UT", NINE_AM_BEIJING),
        ("2021-12-13T01:00:00Z", NINE_AM_BEIJING),
        ("2021-12-13T09:00:00.123+08:00", NINE_AM_BEIJING),
        ("2021-12-12T20:00:00-0500", NINE_AM_BEIJING),
        ("Tue, 27 Dec 2005 13:08:54+0900", datetime(2005, 12, 27, 4, 8, 54, tzinfo=UTC)),
        ("2021-12-13 09:00 来源：湖南日报", NINE_AM_BEIJING),
        ("2021-02-30 09:00", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_date(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw, SHANGHAI) == expected


def test_future_dates_are_clamped_to_now_only_when_now_is_given() -> None:
    now = datetime(2021, 12, 1, tzinfo=UTC)
    assert parse("atom10.xml", now=now).items[0].published_at == now
    later = now + timedelta(hours=12)
    assert parse("atom10.xml", now=later).items[0].published_at == later
    assert parse("atom10.xml", now=NINE_AM_BEIJING).items[0].published_at == NINE_AM_BEIJING
    assert parse("atom10.xml").items[0].published_at == NINE_AM_BEIJING


def test_relative_links_are_resolved() -> None:
    rss = parse("rss20-gb2312.xml")
    assert rss.site_url == "http://hnkfq.com.cn/news/"
    assert rss.items[0].url == "http://hnkfq.com.cn/news/info_itemid_3763.html"
    assert rss.items[1].url == "http://hnkfq.com.cn/rss/info_itemid_3764.html"
    assert parse("atom10.xml").items[0].url == "http://www.hunan.gov.cn/hnyw/202112/t20211213_1.html"
    assert parse("jsonfeed.json").items[0].url == "http://hnkfq.com.cn/xiangtan/1.html"


def test_uid_prefers_guid_then_link() -> None:
    items = parse("rss20-gb2312.xml").items
    assert items[0].uid == "hnkfq-3763"
    assert items[1].uid == items[1].url
    assert [item.uid for item in parse("jsonfeed.json").items] == ["xt-1", "2"]


def test_items_without_title_or_link_are_dropped_and_markup_is_stripped() -> None:
    atom = parse("atom10.xml")
    assert atom.items[1].summary == "带时区的时间保持不变。"  # feedparser's sanitizer removed the script
    json_feed = parse("jsonfeed.json")
    assert json_feed.items[0].summary == "总投资 86 亿元。"
    assert json_feed.items[1].title == ""
    assert json_feed.items[1].summary == "没有标题的微博式条目。"


def test_bozo_feed_with_entries_is_recovered() -> None:
    body = (DATA / "rss20-bozo.xml").read_bytes()
    assert feedparser.parse(io.BytesIO(body), response_headers={"content-type": "text/xml"}).bozo
    feed = parse("rss20-bozo.xml")
    assert [item.url for item in feed.items] == [
        "http://example.cn/yiyang/1.html",
        "http://example.cn/yiyang/2.html",
    ]
    assert feed.items[0].published_at == datetime(2021, 12, 13, 9, 0, tzinfo=UTC)


def test_truncated_feed_without_entries_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="broken feed"):
        parse_feed(b'<rss version="2.0"><channel><title>x', url=FEED_URL, content_type=None, tz=SHANGHAI)


def test_valid_empty_feed_is_not_an_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    assert parse_feed(body, url=FEED_URL, content_type="text/xml", tz=SHANGHAI).items == ()


def parse_traced(body: bytes) -> tuple[int, ParsedFeed | ParseError]:
    """Parse with no content type; return the peak traced memory and the feed or the error.

    How long these hostile inputs take is measured by bench/bench_hostile.py, not asserted here.
    """
    tracemalloc.start()
    try:
        outcome: ParsedFeed | ParseError = parse_feed(body, url=FEED_URL, content_type=None, tz=SHANGHAI)
    except ParseError as error:
        outcome = error
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, outcome


def test_billion_laughs_is_refused() -> None:
    peak, outcome = parse_traced((DATA / "billion-laughs.xml").read_bytes())
    assert isinstance(outcome, ParseError)
    assert peak < 50_000_000


def test_quadratic_blowup_is_refused() -> None:
    # Bare feedparser: expat stops at its amplification limit, then the loose parser expands it (~300 MB).
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 100_000 + b'">\n]>\n'
        b'<rss version="2.0"><channel><item><title>' + b"&a;" * 1000 + b"</title></item></channel></rss>"
    )
    peak, outcome = parse_traced(body)
    assert isinstance(outcome, ParseError)
    assert peak < 50_000_000


def test_harmless_and_external_entity_declarations_are_allowed() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n<!ENTITY org "HNDZA">\n'
        b'<!ENTITY % lat1 PUBLIC "-//W3C//ENTITIES Latin 1 for XHTML//EN" "xhtml-lat1.ent">\n]>\n'
        b'<rss version="2.0"><channel><item><title>&org;&nbsp;news</title><link>/1</link></item>'
        b"</channel></rss>"
    )
    feed = parse_feed(body, url=FEED_URL, content_type="text/xml", tz=SHANGHAI)
    assert feed.items[0].title == "HNDZA news"


@pytest.mark.parametrize(
    "body",
    [
        bytes(range(256)) * 16,
        b"\x00\x01\x02 not xml at all",
        b"",
        b"   ",
        "<html><head><title>登录</title></head><body><p>请先登录</p></body></html>".encode(),
        b'<?xml version="1.0"?><root><child/></root>',
    ],
    ids=["junk", "binary", "empty", "blank", "html-page", "other-xml"],
)
def test_junk_with_xml_content_type_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, url=FEED_URL, content_type="application/rss+xml", tz=SHANGHAI)


def test_feedparser_crash_becomes_parse_error() -> None:
    # feedparser 6.0.14 raises TypeError on a Podlove chapter without a start time.
    body = (
        b'<rss version="2.0" xmlns:psc="http://podlove.org/simple-chapters"><channel><item><title>x</title>'
        b'<psc:chapters><psc:chapter title="a"/></psc:chapters></item></channel></rss>'
    )
    with pytest.raises(ParseError, match="TypeError"):
        parse_feed(body, url=FEED_URL, content_type="text/xml", tz=SHANGHAI)


@pytest.mark.parametrize(
    "doc",
    [
        "{not json",
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": "nope"}),
        json.dumps({"title": "no version", "items": []}),
    ],
    ids=["syntax", "deep-nesting", "items-not-list", "not-json-feed"],
)
def test_bad_json_feed_is_a_parse_error(doc: str) -> None:
    with pytest.raises(ParseError):
        parse_feed(doc.encode(), url=FEED_URL, content_type="application/feed+json", tz=SHANGHAI)


def test_json_feed_tolerates_wrong_field_types() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "title": ["not", "text"],
        "items": [{"id": True, "url": 5, "title": "只有标题", "date_published": 20211213}, None],
    }
    feed = parse_feed(json.dumps(doc).encode(), url=FEED_URL, content_type="application/json", tz=SHANGHAI)
    assert feed.title == ""
    assert [(item.title, item.url, item.published_at) for item in feed.items] == [("只有标题", "", None)]
    assert feed.items[0].uid.startswith("sha1:")


def chinese_rss(encoding: str, count: int = 50) -> bytes:
    items = "".join(
        f"<item><title>湖南省开发区协会第{i}期园区快讯：长沙经开区签约重大项目</title>"
        f"<link>/news/info_itemid_{i}.html</link><pubDate>2021-12-13 09:{i:02d}:00</pubDate>"
        f"<description><![CDATA[<p>园区第{i}批项目集中签约，总投资约{i * 3}亿元。"
        f"<a href='/x/{i}'>详情</a></p>]]>"
        "</description></item>"
        for i in range(count)
    )
    xml = f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>园区快讯</title>'
    return (xml + items + "</channel></rss>").encode("gb18030" if encoding == "gb2312" else encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "gb2312"])
def test_chinese_rss_keeps_every_item(encoding: str) -> None:
    # CPU against bare feedparser on the same bytes (within 1.2x) is measured by bench/bench_hostile.py.
    body = chinese_rss(encoding)
    feed = parse_feed(body, url=FEED_URL, content_type="application/rss+xml", tz=SHANGHAI)
    assert len(feed.items) == 50
    assert feed.items[7].title == "湖南省开发区协会第7期园区快讯：长沙经开区签约重大项目"


def test_json_feed_html_loses_scripts_and_keeps_stray_brackets() -> None:
    # That 200,000 stray brackets still parse in linear time is measured by bench/bench_hostile.py.
    hostile = "<p>正文</p><script>alert(1)</script><style>p{}</style>" + "<" * 200_000 + "<script>" * 20_000
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"id": "1", "title": "t", "content_html": hostile}],
    }
    doc["items"].append({"id": "2", "url": "/2", "content_html": "<p>只有正文</p><script>x()</script>尾"})
    feed = parse_feed(json.dumps(doc).encode(), url=FEED_URL, content_type=None, tz=SHANGHAI)
    assert feed.items[0].summary.startswith("正文 <<<")
    assert feed.items[1].summary == "只有正文 尾"
