import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import feedparser
import pytest

from bot.web.feed_xml import (
    ASSOCIATION,
    FeedEntry,
    entries_from_items,
    etag_for,
    render_atom,
    strip_invalid_chars,
)
from storage.items import PushState, StoredItem

A = "{http://www.w3.org/2005/Atom}"
SELF_URL = "http://127.0.0.1:8080/feed.xml"
GENERATED = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
PUBLISHED = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
FETCHED = datetime(2026, 11, 29, 3, 15, tzinfo=UTC)
NAMES = {"hnkfq-news": "湖南开发区网·园区快讯", "csjk": "长沙经开区"}
HOSTILE = '<script>alert("x")</script> & 园区\x00\x08\x0b\x0c\x1b\ufffe"快讯'


def stored(item_id: int, source_id: str, title: str, published: datetime | None = PUBLISHED) -> StoredItem:
    """A stored item as the storage package returns it."""
    return StoredItem(
        id=item_id,
        source_id=source_id,
        uid=f"uid-{item_id}",
        link=f"http://hnkfq.com.cn/news/{item_id}.html?from=list&page=1",
        title=title,
        summary=f"{title}。湘江新区、株洲高新区、岳阳经开区同步推进。",
        published_at=published,
        fetched_at=FETCHED,
        push_state=PushState.PUSH,
    )


ITEMS = [
    stored(12, "hnkfq-news", "长沙经开区签约重大项目12个，总投资超300亿元"),
    stored(11, "csjk", "湖南省“五好”园区创建推进会在株洲召开", published=None),
    stored(10, "gone-source", "湘潭高新区获评国家级绿色园区"),
]


def entry(title: str, link: str = "http://hnkfq.com.cn/a.html", updated: datetime = PUBLISHED) -> FeedEntry:
    """A feed entry with the given title."""
    return FeedEntry("urn:parkbot:item:1", title, link, "摘要", updated, "长沙经开区")


def render(entries: list[FeedEntry], generated: datetime = GENERATED) -> bytes:
    """Render a feed with the service's title."""
    return render_atom(
        title="湖南开发区协会·园区快讯", self_url=SELF_URL, entries=entries, generated=generated
    )


def parse(body: bytes) -> feedparser.FeedParserDict:
    """Parse as a feed reader would, from bytes only."""
    return feedparser.parse(io.BytesIO(body))


def test_entries_from_items_take_ids_dates_and_source_names():
    entries = entries_from_items(ITEMS, NAMES)

    assert [e.id for e in entries] == ["urn:parkbot:item:12", "urn:parkbot:item:11", "urn:parkbot:item:10"]
    assert [e.updated for e in entries] == [PUBLISHED, FETCHED, PUBLISHED]
    assert [e.author for e in entries] == ["湖南开发区网·园区快讯", "长沙经开区", "gone-source"]
    assert entries[0].link == ITEMS[0].link
    assert entries[0].summary == ITEMS[0].summary


def test_feed_reads_as_atom_with_chinese_intact():
    parsed = parse(render(entries_from_items(ITEMS, NAMES)))

    assert parsed.bozo is False
    assert parsed.version == "atom10"
    assert parsed.feed.title == "湖南开发区协会·园区快讯"
    assert parsed.feed.id == SELF_URL
    assert [(link.rel, link.href) for link in parsed.feed.links] == [("self", SELF_URL)]
    assert parsed.feed.author == ASSOCIATION
    assert [e.title for e in parsed.entries] == [item.title for item in ITEMS]
    assert [e.link for e in parsed.entries] == [item.link for item in ITEMS]
    assert [e.author for e in parsed.entries] == ["湖南开发区网·园区快讯", "长沙经开区", "gone-source"]
    assert parsed.entries[0].summary == ITEMS[0].summary
    assert parsed.entries[1].id == "urn:parkbot:item:11"


def test_dates_are_utc_and_the_feed_takes_its_newest_entry():
    later = datetime(2026, 11, 29, 18, 5, tzinfo=timezone(timedelta(hours=8)))  # 10:05 UTC
    body = render([entry("早", updated=PUBLISHED), entry("晚", updated=later)])
    parsed = parse(body)

    assert parsed.feed.updated == "2026-11-29T10:05:00Z"
    assert [e.updated for e in parsed.entries] == ["2026-11-29T02:00:00Z", "2026-11-29T10:05:00Z"]
    assert parsed.entries[1].updated_parsed[:5] == (2026, 11, 29, 10, 5)


def test_chinese_is_plain_utf8_not_character_references():
    body = render([entry("株洲高新区")])

    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert "株洲高新区".encode() in body
    assert b"&#" not in body


def test_hostile_title_is_escaped_and_control_characters_dropped():
    body = render([entry(HOSTILE, link='http://a.cn/x?a=1&b="2"<')])
    root = ET.fromstring(body)
    title = root.find(f"{A}entry/{A}title")
    link = root.find(f"{A}entry/{A}link")

    assert title is not None and link is not None
    assert title.text == '<script>alert("x")</script> & 园区"快讯'
    assert link.get("href") == 'http://a.cn/x?a=1&b="2"<'
    assert b"<script>" not in body
    assert re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", body) is None
    assert parse(body).bozo is False


def test_empty_feed_is_valid_and_dated_when_generated():
    body = render([])
    parsed = parse(body)

    assert ET.fromstring(body).tag == f"{A}feed"
    assert parsed.bozo is False
    assert parsed.version == "atom10"
    assert parsed.entries == []
    assert parsed.feed.updated == "2026-11-30T00:30:00Z"


def test_same_entries_give_the_same_bytes_whenever_rendered():
    entries = entries_from_items(ITEMS, NAMES)

    assert render(entries) == render(entries, generated=GENERATED + timedelta(hours=5))


def test_an_entry_without_a_link_carries_its_text_as_content():
    announcement = FeedEntry(
        "urn:parkbot:announcement:3", "通知", "", "请各会员单位于12月5日前报送材料。", GENERATED, ASSOCIATION
    )
    root = ET.fromstring(render([announcement]))
    parsed = parse(render([announcement]))

    assert root.find(f"{A}entry/{A}link") is None
    assert root.findtext(f"{A}entry/{A}content") == "请各会员单位于12月5日前报送材料。"
    assert parsed.bozo is False
    assert parsed.entries[0].author == ASSOCIATION


def test_naive_dates_are_refused():
    with pytest.raises(ValueError, match="naive"):
        render([entry("园区", updated=datetime(2026, 1, 1))])  # noqa: DTZ001


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("园区\t快讯\n第1期\r", "园区\t快讯\n第1期\r"),
        ("a\x00b\x1bc\x7fd", "abc\x7fd"),  # DEL is allowed in XML 1.0
        ("\ud800孤\ufffe\uffff", "孤"),
        ("emoji 🏭 ok", "emoji 🏭 ok"),
    ],
)
def test_strip_invalid_chars_keeps_what_xml_allows(text: str, expected: str):
    assert strip_invalid_chars(text) == expected


def test_etag_is_strong_stable_and_changes_with_the_body():
    body = render(entries_from_items(ITEMS, NAMES))

    assert re.fullmatch(r'"[0-9a-f]{32}"', etag_for(body))
    assert etag_for(body) == etag_for(bytes(body))
    assert etag_for(body) != etag_for(body + b" ")
    assert etag_for(render([])) != etag_for(body)
