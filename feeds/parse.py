"""Feed bytes plus headers to a ParsedFeed: RSS, Atom and RDF via feedparser; JSON Feed via json.

Pure and synchronous, so the pipeline can run it in a thread. Dates come out timezone-aware in UTC;
a date written without a zone is wall time in the source's zone ``tz``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from time import struct_time
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from feeds.charset import (
    decode_html,
    header_charset,
    is_utf8,
    known_encoding,
    sniff_bom,
    xml_declared_charset,
)
from feeds.errors import ParseError
from feeds.models import ParsedFeed, ParsedItem
from feeds.normalize import clean_text, html_text, item_uid, plain_summary

# A date more than this far ahead of `now` is a wrong zone or year; it is clamped to `now`.
FUTURE_SLACK = timedelta(days=1)
_DEFAULT_TYPE = "application/xml"  # RFC 7303: without a charset, XML is read by its declaration, else UTF-8
_DATE_KEYS = ("published", "updated", "created")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Bozo reasons feedparser reports for documents it still reads in full.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# feedparser's element handlers raise these on some malformed input (found by fuzzing the corpus).
_FEEDPARSER_CRASHES = (LookupError, TypeError, ValueError, AttributeError, AssertionError, RuntimeError)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml\b[^>]*>")
_UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
# feedparser keeps short literal entities, and when expat stops a quadratic blowup its loose parser
# expands them anyway (100 KB became 300 MB in a test). Character references, short literals and
# external entities (never loaded: external entities are off in expat and feedparser) pass.
_HARMLESS_ENTITY = re.compile(
    rb"<!ENTITY\s{1,16}(?:%\s{1,16})?[\w.:-]{1,64}\s{1,16}"
    rb"""(?:PUBLIC|SYSTEM|(["'])(?:&\#(?:\d{1,7}|x[0-9A-Fa-f]{1,6});|[^"'&<%]{0,16})\1\s{0,16}>)"""
)

_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DMY = re.compile(r"(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?,?\s+(\d{4}|\d{2})\b")
_CLOCK = re.compile(r"[T\s]*(\d{1,2})\s*[:时]\s*(\d{2})(?:\s*[:分]\s*(\d{2})(?:[.,]\d+)?)?\s*")
_ZONE = re.compile(r"(?:GMT|UTC?)?\s*([+-])(\d{1,2})(?::?(\d{2}))?\b|([A-Za-z]{1,5})(?![A-Za-z])")
_MONTHS = {name: n for n, name in enumerate(re.findall("...", "janfebmaraprmayjunjulaugsepoctnovdec"), 1)}
# Hours east of UTC. "CST" is absent on purpose: in Chinese feeds it means China Standard Time, not US
# Central, so it is read in the source's own zone, like a date with no zone at all.
_ZONE_HOURS = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0, "wet": 0, "bst": 1, "cet": 1, "met": 1, "cest": 2, "mest": 2,
    "eet": 2, "eest": 3, "msk": 3, "hkt": 8, "sgt": 8, "awst": 8, "bjt": 8, "cct": 8, "jst": 9,
    "kst": 9, "aest": 10, "aedt": 11, "nzst": 12, "nzdt": 13, "ast": -4, "adt": -3, "est": -5,
    "edt": -4, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7, "hst": -10,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Source:
    url: str
    tz: tzinfo
    now: datetime | None


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    tz: tzinfo,
    encoding: str | None = None,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse feed bytes; raise ParseError when they hold no feed. `now` enables the future-date clamp."""
    source = _Source(url, tz, now)
    if _looks_like_json(body, content_type):
        return _parse_json_feed(_decode(body, content_type, encoding)[0], source)
    data, data_type = _feedparser_input(body, content_type, encoding)
    if _declares_expanding_entities(data):
        raise ParseError("feed declares expanding XML entities (an entity bomb?)")
    # No Content-Location, no URI resolution, no sanitizing: feedparser would urljoin every element
    # (+35% CPU on a 50-item feed) and clean HTML we turn into plain text anyway. We resolve the few
    # links we keep ourselves in _absolute(); xml:base is still honoured by feedparser.
    try:
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-type": data_type},
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except _FEEDPARSER_CRASHES as exc:
        raise ParseError(f"feedparser failed: {type(exc).__name__}: {exc}") from exc
    _raise_if_unusable(result)
    items = (_entry_item(entry, source) for entry in result.entries)
    feed = result.feed
    site_url = _absolute(url, feed.get("link")) or url
    return ParsedFeed(title=clean_text(_title_text(feed)), site_url=site_url, items=_unique(items))


def parse_date(raw: str, tz: tzinfo) -> datetime | None:
    """Read a feed date as aware UTC; a date with no zone (or "CST") is wall time in `tz`."""
    match = _YMD.search(raw)
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = _DMY.search(raw)
        month = _MONTHS.get(match.group(2).lower(), 0) if match else 0
        if not match or not month:
            return None
        day, year = int(match.group(1)), int(match.group(3))
        year += 0 if year >= 100 else 2000 if year < 70 else 1900
    hour, minute, second, zone = _read_clock(raw, match.end(), tz)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _read_clock(raw: str, pos: int, tz: tzinfo) -> tuple[int, int, int, tzinfo]:
    clock = _CLOCK.match(raw, pos)
    if not clock:
        return 0, 0, 0, tz
    hour, minute, second = (int(part or 0) for part in clock.groups())
    return hour, minute, second, _read_zone(raw, clock.end(), tz)


def _read_zone(raw: str, pos: int, tz: tzinfo) -> tzinfo:
    zone = _ZONE.match(raw, pos)
    if not zone:
        return tz
    sign, hours, minutes, name = zone.groups()
    if name is not None:
        offset = _ZONE_HOURS.get(name.lower())
        return tz if offset is None else timezone(timedelta(hours=offset))
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        return tz
    return timezone(-delta if sign == "-" else delta)


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    first = body[:256].lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if first in (b"{", b"<"):
        return first == b"{"
    return (content_type or "").split(";")[0].strip().lower().endswith(("/json", "+json"))


def _decode(body: bytes, content_type: str | None, override: str | None) -> tuple[str, str]:
    try:
        return decode_html(body, content_type, override)
    except LookupError as exc:
        raise ParseError(f"unknown encoding override: {override!r}") from exc


def _feedparser_input(body: bytes, content_type: str | None, override: str | None) -> tuple[bytes, str]:
    """Hand feedparser UTF-8 only: its own decoding takes header charsets on trust."""
    if not override and not _needs_transcoding(body, content_type):
        return body, content_type or _DEFAULT_TYPE
    text = _decode(body, content_type, override)[0].removeprefix("\ufeff")
    text = _XML_DECLARATION.sub(_UTF8_DECLARATION, text, count=1)
    mime = (content_type or "").split(";")[0].strip() or _DEFAULT_TYPE
    return text.encode("utf-8"), f"{mime}; charset=utf-8"


def _needs_transcoding(body: bytes, content_type: str | None) -> bool:
    bom = sniff_bom(body)
    if bom is not None and bom[0] != "utf-8":
        return True
    for label in (header_charset(content_type), xml_declared_charset(body)):
        if label is not None and known_encoding(label) != "utf-8":
            return True
    return not is_utf8(body)


def _declares_expanding_entities(data: bytes) -> bool:
    start = data.find(b"<!ENTITY")
    while start != -1:
        if not _HARMLESS_ENTITY.match(data, start):
            return True
        start = data.find(b"<!ENTITY", start + 1)
    return False


def _raise_if_unusable(result: Any) -> None:
    if result.entries:
        return
    error = result.get("bozo_exception")
    if not result.get("version"):
        raise ParseError(f"not a feed: {error}" if error else "not a feed")
    if result.get("bozo") and not isinstance(error, _BENIGN_BOZO):
        raise ParseError(f"broken feed: {error}")


def _entry_item(entry: Any, source: _Source) -> ParsedItem | None:
    title = _title_text(entry)
    content = entry.get("content") or [{}]
    summary = entry.get("summary") or content[0].get("value")
    return _build_item(
        source, entry.get("id"), entry.get("link"), title, summary, _entry_date(entry, source.tz)
    )


def _title_text(element: Any) -> str:
    title = element.get("title") or ""
    if element.get("title_detail", {}).get("type") in _HTML_TYPES:
        title = html_text(title)
    return title


def _entry_date(entry: Any, tz: tzinfo) -> datetime | None:
    for key in _DATE_KEYS:
        raw = entry.get(key)
        if not raw:
            continue
        found = parse_date(raw, tz) or _from_struct(entry.get(f"{key}_parsed"))
        if found is not None:
            return found
    return None


def _from_struct(parsed: struct_time | None) -> datetime | None:
    return None if parsed is None else datetime(*parsed[:6], tzinfo=UTC)


def _build_item(
    source: _Source,
    guid: str | None,
    link: str | None,
    title: str,
    summary: str | None,
    published: datetime | None,
) -> ParsedItem | None:
    url = _absolute(source.url, link)
    title = clean_text(title)
    if not title and not url:
        return None
    if published is not None and source.now is not None and published > source.now + FUTURE_SLACK:
        published = source.now.astimezone(UTC)
    uid = item_uid(guid, url, title, published)
    return ParsedItem(
        uid=uid, url=url or "", title=title, summary=plain_summary(summary), published_at=published
    )


def _absolute(base: str, link: object) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        url = urljoin(base, link.strip())
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _unique(items: Iterable[ParsedItem | None]) -> tuple[ParsedItem, ...]:
    seen: dict[str, ParsedItem] = {}
    for item in items:
        if item is not None:
            seen.setdefault(item.uid, item)
    return tuple(seen.values())


def _parse_json_feed(text: str, source: _Source) -> ParsedFeed:
    """Read JSON Feed 1.0/1.1 (https://www.jsonfeed.org/version/1.1/), which feedparser 6.0 does not."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {exc}") from exc
    if not isinstance(doc, dict) or "jsonfeed.org/version/" not in str(doc.get("version", "")):
        raise ParseError("not a JSON Feed")
    entries = doc.get("items")
    if not isinstance(entries, list):
        raise ParseError("JSON Feed without an items list")
    items = (_json_item(entry, source) for entry in entries if isinstance(entry, dict))
    site_url = _absolute(source.url, doc.get("home_page_url")) or source.url
    return ParsedFeed(title=clean_text(_text(doc.get("title"))), site_url=site_url, items=_unique(items))


def _json_item(entry: dict[str, Any], source: _Source) -> ParsedItem | None:
    guid = entry.get("id")
    raw_date = _text(entry.get("date_published")) or _text(entry.get("date_modified"))
    summary = (
        _text(entry.get("summary")) or _text(entry.get("content_html")) or _text(entry.get("content_text"))
    )
    return _build_item(
        source,
        str(guid) if isinstance(guid, str | int) and not isinstance(guid, bool) else None,
        _text(entry.get("url")) or _text(entry.get("external_url")),
        _text(entry.get("title")) or "",
        summary,
        parse_date(raw_date, source.tz) if raw_date else None,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
