"""The subscribers aggregate: runtime state of configured subscribers (their filters live in config)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.alerts import subscriber_failing_key
from storage.db import Database
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class SubscriberState:
    """A subscriber's runtime state as stored."""

    id: str
    health: str
    failing_reason: str | None
    failing_since: datetime | None
    last_digest_at: datetime | None
    keywords: tuple[str, ...]


async def sync_subscribers(db: Database, subscriber_ids: Iterable[str], now: datetime) -> None:
    """Make sure every configured subscriber has a state row."""
    async with db.transaction() as conn:
        await conn.executemany(
            # A new subscriber's instant pushes start after the items stored so far.
            "INSERT OR IGNORE INTO subscribers (id, created_at, instant_cursor) VALUES"
            " (?, ?, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'items'), 0))",
            [(sid, to_db(now)) for sid in subscriber_ids],
        )


async def all_subscribers(db: Database) -> list[SubscriberState]:
    """Return every subscriber's state with its chat-added keywords, ordered by id."""
    keywords: dict[str, list[str]] = {}
    for row in await db.fetchall("SELECT subscriber_id, keyword FROM subscriber_keywords ORDER BY added_at"):
        keywords.setdefault(row["subscriber_id"], []).append(row["keyword"])
    rows = await db.fetchall("SELECT * FROM subscribers ORDER BY id")
    return [
        SubscriberState(
            id=row["id"],
            health=row["health"],
            failing_reason=row["failing_reason"],
            failing_since=from_db(row["failing_since"]),
            last_digest_at=from_db(row["last_digest_at"]),
            keywords=tuple(keywords.get(row["id"], ())),
        )
        for row in rows
    ]


async def mark_subscriber_failing(db: Database, subscriber_id: str, reason: str, now: datetime) -> bool:
    """Stop sending to the subscriber; return True when it was healthy before (so staff are alerted once)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE subscribers SET health = 'failing', failing_reason = ?, failing_since = ?"
            " WHERE id = ? AND health = 'ok'",
            (reason, to_db(now), subscriber_id),
        )
    return cursor.rowcount == 1


async def mark_subscribers_healthy(conn: aiosqlite.Connection, subscriber_ids: Sequence[str] | None) -> None:
    """Inside the caller's transaction, let these subscribers (None: every failing one) be sent to again,
    and close their failing alerts, so that the next failure tells staff again."""
    if subscriber_ids is None:
        rows = await conn.execute_fetchall("SELECT id FROM subscribers WHERE health = 'failing'")
        subscriber_ids = [row[0] for row in rows]
    await conn.executemany(
        "UPDATE subscribers SET health = 'ok', failing_reason = NULL, failing_since = NULL WHERE id = ?",
        [(sid,) for sid in subscriber_ids],
    )
    await conn.executemany(
        "DELETE FROM alerts WHERE key = ?", [(subscriber_failing_key(s),) for s in subscriber_ids]
    )


async def subscriber_summary(db: Database) -> tuple[int, datetime | None]:
    """Return how many subscribers are failing and when the latest digest was built."""
    row = await db.fetchone("SELECT sum(health = 'failing'), max(last_digest_at) FROM subscribers")
    return ((row[0] or 0), from_db(row[1])) if row else (0, None)
