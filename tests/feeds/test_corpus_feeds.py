"""Run third-party feeds through parse_feed: feedparser's own test corpus and real Chinese feeds."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest

from feeds.charset import sniff_bom
from feeds.errors import ParseError
from feeds.models import ParsedFeed
from feeds.normalize import clean_text
from feeds.parse import parse_date, parse_feed

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FEEDPARSER_CORPUS = CORPUS / "feedparser-corpus"
CHINESE_FEEDS = CORPUS / "feeds"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEED_URL = "http://example.org/feed.xml"
# feedparser's tests serve these as HTTP headers (corpus README §1, item 6).
CONTENT_TYPE_LINE = re.compile(r"^Header:\s*Content-type:\s*(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
FOLDERS = ["encoding", "entities", "illformed", "json", "wellformed"]
# normalize_url drops #fragments, and this feed's 16 guid-less items differ only by fragment.
COLLAPSED_BY_UID = {"cnblog-2004-rss092-gb2312.xml": 3}


def content_type_of(body: bytes) -> str:
    bom = sniff_bom(body)
    head = body[:4096].decode(bom[0] if bom else "latin-1", "replace")
    match = CONTENT_TYPE_LINE.search(head)
    return match.group(1) if match else "text/xml"


def first_text_title(feed: Any) -> str | None:
    """First entry title of a bare feedparser result, unless it holds markup we strip on purpose."""
    titles = [clean_text(entry.get("title")) for entry in feed.entries if entry.get("title")]
    return titles[0] if titles and "<" not in titles[0] else None


def check_file(path: Path) -> str | None:
    """Return how parse_feed disagrees with bare feedparser, or None; any exception but ParseError escapes."""
    body = path.read_bytes()
    content_type = content_type_of(body)
    try:
        parsed = parse_feed(body, url=FEED_URL, content_type=content_type, tz=SHANGHAI)
    except ParseError:
        return None
    except Exception as error:
        error.add_note(f"corpus file: {path}")
        raise
    if path.suffix == ".json":
        return None
    bare = feedparser.parse(io.BytesIO(body), response_headers={"content-type": content_type})
    expected = None if bare.bozo else first_text_title(bare)
    got = next((item.title for item in parsed.items if item.title), None)
    if expected is not None and got != expected:
        return f"first title {got!r}, bare feedparser read {expected!r}"
    return None


@pytest.mark.parametrize("folder", FOLDERS)
def test_feedparser_corpus_gives_a_feed_or_a_parse_error(folder: str) -> None:
    if not FEEDPARSER_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    files = sorted(
        path for path in (FEEDPARSER_CORPUS / folder).rglob("*") if path.suffix in (".xml", ".json")
    )
    assert files
    failures = {str(path.relative_to(FEEDPARSER_CORPUS)): check_file(path) for path in files}
    assert {name: failure for name, failure in failures.items() if failure} == {}


def test_feedparser_corpus_json_example() -> None:
    path = FEEDPARSER_CORPUS / "json" / "example.json"
    if not path.is_file():
        pytest.skip("../shared/corpus is not beside this checkout")
    feed = parse_feed(path.read_bytes(), url=FEED_URL, content_type="application/feed+json", tz=SHANGHAI)
    assert feed.title == "My Example Feed"
    assert len(feed.items) == 2
    assert feed.items[1].summary == "Hello, world!"


def chinese_feeds() -> list[dict[str, Any]]:
    index = CHINESE_FEEDS / "index.json"
    if not index.is_file():
        return []
    return json.loads(index.read_text(encoding="utf-8"))["feeds"]


def test_chinese_feeds_present_or_skipped() -> None:
    if not CHINESE_FEEDS.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    assert len(chinese_feeds()) == 9


@pytest.mark.parametrize("entry", chinese_feeds(), ids=lambda entry: entry["file"])
def test_chinese_feed_matches_index(entry: dict[str, Any]) -> None:
    observed = entry["observed_with_feedparser_6_0_14"]
    feed = parse_feed(
        (CHINESE_FEEDS / entry["file"]).read_bytes(), url=FEED_URL, content_type="text/xml", tz=SHANGHAI
    )
    assert feed.title == clean_text(observed["feed_title"])
    assert len(feed.items) == COLLAPSED_BY_UID.get(entry["file"], observed["entries"])
    first, expected = feed.items[0], observed["first_entry"]
    assert first.title == clean_text(expected["title"])
    assert first.url == expected["link"]
    assert_date(first.published_at, expected["date_raw"])


def assert_date(published: Any, raw: str | None) -> None:
    if raw is None:
        assert published is None
        return
    assert published is not None
    assert published.utcoffset().total_seconds() == 0
    assert published == parse_date(raw, SHANGHAI)


def test_tencent_feed_dates_are_beijing_time() -> None:
    path = CHINESE_FEEDS / "qq-news-guonei-2018-rss20-gb2312.xml"
    if not path.is_file():
        pytest.skip("../shared/corpus is not beside this checkout")
    feed: ParsedFeed = parse_feed(path.read_bytes(), url=FEED_URL, content_type="text/xml", tz=SHANGHAI)
    # "2018-09-18 14:38:10" in Beijing is 06:38:10 UTC; bare feedparser says 14:38:10 UTC.
    assert feed.items[0].published_at is not None
    assert feed.items[0].published_at.isoformat() == "2018-09-18T06:38:10+00:00"
    assert all(item.published_at is not None for item in feed.items)
