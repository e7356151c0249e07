"""Typed rows that leave the storage package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PushState(StrEnum):
    """Whether a stored item may be pushed to subscribers."""

    PUSH = "push"
    SEEDED = "seeded"  # found on a source's first fetch
    STALE = "stale"  # already old when first seen
    HELD = "held"  # part of an anomalous poll


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One stored news item."""

    id: int
    source_id: str
    uid: str
    link: str
    title: str
    summary: str
    published_at: datetime | None
    fetched_at: datetime
    push_state: PushState


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's polling state as stored."""

    id: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    error_count: int
    last_error: str | None
    last_error_at: datetime | None
    empty_polls: int
    next_poll_at: datetime | None
    seeded_at: datetime | None
    item_count: int
    newest_item_at: datetime | None


@dataclass(frozen=True, slots=True)
class SubscriberState:
    """A subscriber's runtime state as stored."""

    id: str
    health: str
    failing_reason: str | None
    failing_since: datetime | None
    last_digest_at: datetime | None
    keywords: tuple[str, ...]
