"""What parkbot sends, before any platform shapes it: digests, items, announcements, replies, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal["digest", "item", "announcement", "reply", "alert"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One news item as a message shows it."""

    title: str
    link: str
    source_name: str
    published_at: datetime | None = None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """A platform-neutral message; `entries` are already grouped by source, newest first."""

    kind: Kind
    title: str
    text: str = ""
    entries: tuple[Entry, ...] = ()
    footer: str = ""
    link: str = ""  # where the footer points, e.g. /feed.xml
    extra: dict[str, object] = field(default_factory=dict)  # e.g. the announcement id, for webhooks
