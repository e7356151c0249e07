"""The fake news site and the sample renderers behave as the tests that use them assume."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

import aiohttp
import feedparser
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.fakes import samples
from tests.fakes.news_site import DEFAULT_LAST_MODIFIED, HUGE_SIZE, JUNK_SIZE, RETRY_AFTER_DATE, NewsSite

TINY = aiohttp.ClientTimeout(total=0.2)
BODY = "<ul class='news-list'><li>长沙经开区</li></ul>"


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]], news_server: TestServer) -> TestClient:
    """A client bound to the running fake site."""
    return await aiohttp_client(news_server)


async def test_page_is_served_with_validators(news_site: NewsSite, client: TestClient) -> None:
    news_site.set_page("/news/", BODY)
    response = await client.get("/news/")
    assert response.status == 200
    assert await response.text() == BODY
    assert response.headers["ETag"].startswith('"') and len(response.headers["ETag"]) == 42
    assert response.headers["Last-Modified"] == format_datetime(DEFAULT_LAST_MODIFIED, usegmt=True)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"


async def test_if_none_match_gives_304_and_is_recorded(news_site: NewsSite, client: TestClient) -> None:
    news_site.set_page("/news/", BODY)
    etag = (await client.get("/news/")).headers["ETag"]
    response = await client.get("/news/", headers={"if-none-match": etag})
    assert response.status == 304
    assert response.headers["ETag"] == etag
    assert await response.read() == b""
    assert [r.headers.get("If-None-Match") for r in news_site.requests_to("/news/")] == [None, etag]
    assert news_site.hits("/news/") == 2


@pytest.mark.parametrize(
    ("since", "status"),
    [
        (DEFAULT_LAST_MODIFIED, 304),
        (DEFAULT_LAST_MODIFIED + timedelta(days=1), 304),
        (DEFAULT_LAST_MODIFIED - timedelta(seconds=1), 200),
    ],
)
async def test_if_modified_since(
    news_site: NewsSite, client: TestClient, since: datetime, status: int
) -> None:
    news_site.set_page("/news/", BODY)
    response = await client.get("/news/", headers={"If-Modified-Since": format_datetime(since, usegmt=True)})
    assert response.status == status


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [("*", 304), ('"other", {etag}', 304), ("W/{etag}", 304), ('"other"', 200)],
)
async def test_if_none_match_wins_over_if_modified_since(
    news_site: NewsSite, client: TestClient, if_none_match: str, status: int
) -> None:
    news_site.set_page("/news/", BODY)
    etag = news_site.pages["/news/"].etag
    headers = {
        "If-None-Match": if_none_match.format(etag=etag),
        "If-Modified-Since": format_datetime(DEFAULT_LAST_MODIFIED, usegmt=True),
    }
    assert (await client.get("/news/", headers=headers)).status == status


async def test_changed_page_gets_new_etag(news_site: NewsSite, client: TestClient) -> None:
    news_site.set_page("/news/", BODY)
    old = (await client.get("/news/")).headers["ETag"]
    news_site.set_page("/news/", BODY + "<p>新</p>")
    response = await client.get("/news/", headers={"If-None-Match": old})
    assert response.status == 200
    assert response.headers["ETag"] != old


async def test_server_ignoring_validators(news_site: NewsSite, client: TestClient) -> None:
    news_site.set_page("/news/", BODY, honour_validators=False)
    etag = (await client.get("/news/")).headers["ETag"]
    response = await client.get("/news/", headers={"If-None-Match": etag})
    assert response.status == 200
    assert await response.text() == BODY


async def test_validators_can_be_disabled(news_site: NewsSite, client: TestClient) -> None:
    news_site.set_page("/news/", BODY, etag=False, last_modified=None)
    since = format_datetime(DEFAULT_LAST_MODIFIED, usegmt=True)
    response = await client.get("/news/", headers={"If-None-Match": '"abc"', "If-Modified-Since": since})
    assert response.status == 200
    assert "ETag" not in response.headers and "Last-Modified" not in response.headers


async def test_fail_next_then_recovers(news_site: NewsSite, client: TestClient) -> None:
    news_site.set_page("/feed.xml", samples.rss20(samples.ITEMS), "application/rss+xml")
    news_site.fail_next("/feed.xml", 2, 503, {"Retry-After": "30"}, b"busy")
    first, second, third = [await client.get("/feed.xml") for _ in range(3)]
    assert (first.status, second.status, third.status) == (503, 503, 200)
    assert first.headers["Retry-After"] == "30" and await first.read() == b"busy"
    assert news_site.hits("/feed.xml") == 3


async def test_unknown_path_is_404(news_site: NewsSite, client: TestClient) -> None:
    assert (await client.get("/nope.html")).status == 404
    assert news_site.hits("/nope.html") == 1


async def test_gzip_when_asked(news_site: NewsSite, client: TestClient) -> None:
    news_site.set_page("/news/", BODY, gzip=True)
    response = await client.get("/news/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await response.read()).decode() == BODY
    plain = await client.get("/news/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers


async def test_slow_never_answers(client: TestClient) -> None:
    with pytest.raises(TimeoutError):
        await client.get("/hostile/slow", timeout=TINY)


async def test_huge_streams_until_client_leaves(news_site: NewsSite, client: TestClient) -> None:
    response = await client.get("/hostile/huge")
    assert "Content-Length" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    received = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        received += len(chunk)
        if received >= 1024 * 1024:
            break
    response.close()
    await asyncio.wait_for(news_site.huge.done.wait(), timeout=2)
    assert received >= 1024 * 1024
    assert news_site.huge.sent < HUGE_SIZE


async def test_redirect_loop(client: TestClient) -> None:
    with pytest.raises(aiohttp.TooManyRedirects):
        await client.get("/hostile/redirect-loop", timeout=aiohttp.ClientTimeout(total=2))


async def test_redirect_chain_ends_at_feed(client: TestClient) -> None:
    response = await client.get("/hostile/redirect/4")
    assert [r.status for r in response.history] == [301, 308, 307, 302]
    assert response.url.path == "/hostile/redirect/0"
    parsed = feedparser.parse(io.BytesIO(await response.read()))
    assert parsed.entries[0].title == "永州经开区“五好”园区创建推进会召开"


async def test_billion_laughs_is_small_and_not_expanded_by_feedparser(client: TestClient) -> None:
    response = await client.get("/hostile/billion-laughs.xml")
    body = await response.read()
    assert response.headers["Content-Type"] == "application/rss+xml"
    assert b"<!ENTITY lol9" in body and len(body) < 4096
    parsed = await asyncio.to_thread(feedparser.parse, io.BytesIO(body))
    assert len(parsed.feed.get("title", "")) < 1000


async def test_junk_xml(client: TestClient) -> None:
    response = await client.get("/hostile/junk.xml")
    body = await response.read()
    assert response.headers["Content-Type"] == "application/xml"
    assert len(body) == JUNK_SIZE
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


async def test_500_and_429_with_retry_after_seconds(client: TestClient) -> None:
    assert (await client.get("/hostile/500")).status == 500
    response = await client.get("/hostile/429")
    assert (response.status, response.headers["Retry-After"]) == (429, "120")


async def test_503_with_retry_after_date(client: TestClient) -> None:
    response = await client.get("/hostile/503-date")
    assert response.status == 503
    assert parsedate_to_datetime(response.headers["Retry-After"]) == RETRY_AFTER_DATE


class _ListPageParser(HTMLParser):
    """Just enough of `ul.news-list > li` (a, a@href, a@title, span.date) to check the sample pages."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._in_list = False
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "ul":
            self._in_list = attributes.get("class") == "news-list"
        elif self._in_list and tag == "li":
            self.rows.append({"text": "", "date": ""})
        elif self._in_list and tag == "a":
            self.rows[-1].update(href=attributes["href"] or "", title=attributes["title"] or "")
            self._field = "text"
        elif self._in_list and tag == "span" and attributes.get("class") == "date":
            self._field = "date"

    def handle_endtag(self, tag: str) -> None:
        self._field = None
        if tag == "ul":
            self._in_list = False

    def handle_data(self, data: str) -> None:
        if self._field:
            self.rows[-1][self._field] += data


def _rows(page: str) -> list[dict[str, str]]:
    parser = _ListPageParser()
    parser.feed(page)
    return parser.rows


def test_gbk_list_page_decodes_as_gbk_with_chinese_intact() -> None:
    body = samples.gbk_list_page(samples.ITEMS)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    page = body.decode("gbk")
    assert '<meta charset="gbk">' in page
    rows = _rows(page)
    assert [" ".join(row["text"].split()) for row in rows] == [item.title for item in samples.ITEMS]
    assert [row["title"] for row in rows] == [item.title for item in samples.ITEMS]
    assert {row["date"][:5] for row in rows} >= {"2026-", "2026/", "2026年", "[11-2"}


def test_gbk_list_page_links_resolve_to_articles() -> None:
    page_url = f"http://127.0.0.1:8080{samples.LIST_PATH}"
    rows = _rows(samples.gbk_list_page(samples.ITEMS, host="127.0.0.1:8080").decode("gbk"))
    hrefs = [row["href"] for row in rows]
    assert {href[:2] for href in hrefs} == {"./", "..", "/n", "//"}
    expected = [item.url("http://127.0.0.1:8080") for item in samples.ITEMS]
    assert [urljoin(page_url, href) for href in hrefs] == expected


def test_truncated_list_page_keeps_full_title_attribute() -> None:
    rows = _rows(samples.gbk_list_page([samples.LONG_TITLE], truncate=20).decode("gbk"))
    assert rows[0]["text"].strip().endswith("…")
    assert rows[0]["title"] == samples.LONG_TITLE.title


def test_utf8_page_declaring_gb2312() -> None:
    body = samples.utf8_page_declaring_gb2312(samples.ITEMS)
    page = body.decode("utf-8")
    assert "charset=gb2312" in page
    assert samples.CHANGSHA.title in page
    assert samples.CHANGSHA.title not in body.decode("gb2312", errors="replace")


def test_gb2312_rss_parses_with_chinese_titles() -> None:
    body = samples.rss20_gb2312(samples.ITEMS)
    assert body.startswith(b'<?xml version="1.0" encoding="gb2312"?>')
    parsed = feedparser.parse(io.BytesIO(body))
    assert not parsed.bozo
    assert parsed.feed.title == samples.SITE_NAME
    assert [entry.title for entry in parsed.entries][:4] == [item.title for item in samples.ITEMS[:4]]


@pytest.mark.parametrize("render", [samples.rss20, samples.atom10, samples.rdf10])
def test_xml_feeds_parse_with_feedparser(render: Callable[..., bytes]) -> None:
    parsed = feedparser.parse(io.BytesIO(render(samples.ITEMS)))
    assert not parsed.bozo
    entry = parsed.entries[0]
    assert entry.title == samples.YONGZHOU.title
    assert entry.link == samples.YONGZHOU.url()
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    assert published[:5] == (2026, 11, 29, 8, 20)  # 16:20 +08:00 in UTC


def test_json_feed_is_version_1_1() -> None:
    document = json.loads(samples.json_feed(samples.ITEMS))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["items"][0]["title"] == samples.YONGZHOU.title
    assert document["items"][0]["date_published"] == "2026-11-29T16:20:00+08:00"


def test_samples_cover_the_awkward_cases() -> None:
    assert all(mark in samples.MARKDOWN_HOSTILE.title for mark in ("[", "](", "*", "<font"))
    assert len(samples.LONG_TITLE.title) > 80
    assert len({item.itemid for item in samples.ITEMS}) == len(samples.ITEMS)
    assert len({item.published.date() for item in samples.ITEMS}) >= 7
