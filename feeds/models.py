"""Typed values that leave the feeds package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One news item as read from a source, before storage."""

    uid: str
    url: str
    title: str
    summary: str
    published_at: datetime | None  # timezone-aware UTC, or None when the source gives no date


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one source's page or feed contained."""

    title: str
    site_url: str
    items: tuple[ParsedItem, ...]


@dataclass(frozen=True, slots=True)
class ListSelectors:
    """CSS selectors for one list page: `sel` is text, `sel@attr` an attribute, `@attr` the item's own."""

    item: str
    title: str
    link: str
    date: str = ""
    summary: str = ""
