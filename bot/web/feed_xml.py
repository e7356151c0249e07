"""The Atom 1.0 feed of the newest stored items and announcements (RFC 4287), built without I/O."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.items import StoredItem

ATOM_NS = "http://www.w3.org/2005/Atom"
ASSOCIATION = "湖南省开发区协会"  # the author of announcements and of the feed itself
GENERATOR = "parkbot"
_ETAG_HEX = 32  # 128 bits of the SHA-256 is plenty to tell two bodies apart
# Characters outside XML 1.0 §2.2 `Char`: C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One Atom entry: a stored item or an announcement."""

    id: str
    title: str
    link: str
    summary: str
    updated: datetime
    author: str


def entries_from_items(items: Sequence[StoredItem], source_names: Mapping[str, str]) -> list[FeedEntry]:
    """Turn stored items into feed entries, in the given order, authored by their source's name."""
    return [
        FeedEntry(
            id=f"urn:parkbot:item:{item.id}",
            title=item.title,
            link=item.link,
            summary=item.summary,
            updated=item.published_at or item.fetched_at,
            author=source_names.get(item.source_id, item.source_id),
        )
        for item in items
    ]


def render_atom(
    *,
    title: str,
    self_url: str,
    entries: Sequence[FeedEntry],
    generated: datetime,
    author: str = ASSOCIATION,
) -> bytes:
    """Render entries, in the given order, as a UTF-8 Atom 1.0 document."""
    # Plain tags plus an xmlns attribute: ElementTree's default_namespace rejects unprefixed attributes.
    feed = ET.Element("feed", xmlns=ATOM_NS)
    # The feed's updated is its newest entry's, so the same entries give the same bytes and ETag.
    updated = max((entry.updated for entry in entries), default=generated)
    _text(feed, "id", self_url)
    _text(feed, "title", title)
    _text(feed, "updated", format_time(updated))
    _link(feed, "self", self_url, media_type="application/atom+xml")
    _author(feed, author)
    _text(feed, "generator", GENERATOR)
    for entry in entries:
        _entry(feed, entry)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def etag_for(body: bytes) -> str:
    """Return a strong ETag (RFC 9110 §8.8.3) for a response body."""
    return f'"{hashlib.sha256(body).hexdigest()[:_ETAG_HEX]}"'


def format_time(moment: datetime) -> str:
    """Format an aware datetime as an RFC 3339 UTC timestamp such as 2026-11-30T00:30:00Z."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime in the feed: {moment!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def strip_invalid_chars(text: str) -> str:
    """Drop the characters that XML 1.0 forbids, such as NUL, ESC or form feed."""
    return _NOT_XML_CHAR.sub("", text)


def _entry(feed: ET.Element, entry: FeedEntry) -> None:
    element = ET.SubElement(feed, "entry")
    _text(element, "id", entry.id)
    _text(element, "title", entry.title)
    _text(element, "updated", format_time(entry.updated))
    if entry.link:
        _link(element, "alternate", entry.link)
    _author(element, entry.author)
    _text(element, "summary", entry.summary)
    if not entry.link:
        # RFC 4287 §4.1.2: an entry with no alternate link must carry atom:content.
        _text(element, "content", entry.summary)


def _text(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, name).text = strip_invalid_chars(text)


def _link(parent: ET.Element, rel: str, href: str, media_type: str = "") -> None:
    attributes = {"rel": rel, "href": strip_invalid_chars(href)}
    if media_type:
        attributes["type"] = media_type
    ET.SubElement(parent, "link", attributes)


def _author(parent: ET.Element, name: str) -> None:
    _text(ET.SubElement(parent, "author"), "name", name)
