"""The delivery ledger: which item reached which subscriber, written with its outbox rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.items import item_from_row
from storage.models import StoredItem
from storage.times import to_db

_BATCH = 500


async def pushable_items_since(db: Database, since: datetime, limit: int = 100_000) -> list[StoredItem]:
    """Return items that may be pushed, first seen after `since`, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM items WHERE push_state = 'push' AND fetched_at > ?"
        " ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT ?",
        (to_db(since), limit),
    )
    return [item_from_row(row) for row in rows]


async def delivered_item_ids(db: Database, subscriber_id: str, item_ids: Sequence[int]) -> set[int]:
    """Return which of these items already reached the subscriber (digest or instant)."""
    found: set[int] = set()
    for start in range(0, len(item_ids), _BATCH):
        chunk = list(item_ids[start : start + _BATCH])
        marks = ",".join("?" * len(chunk))
        rows = await db.conn.execute_fetchall(
            f"SELECT item_id FROM deliveries WHERE subscriber_id = ? AND item_id IN ({marks})",
            (subscriber_id, *chunk),
        )
        found.update(row[0] for row in rows)
    return found


async def add_deliveries(
    conn: aiosqlite.Connection,
    subscriber_id: str,
    item_ids: Sequence[int],
    kind: str,
    outbox_id: int | None,
    now: datetime,
) -> int:
    """Inside the caller's transaction, record items as delivered; return how many were not already."""
    cursor = await conn.executemany(
        "INSERT OR IGNORE INTO deliveries (subscriber_id, item_id, kind, outbox_id, queued_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(subscriber_id, item_id, kind, outbox_id, to_db(now)) for item_id in item_ids],
    )
    return cursor.rowcount


async def claim_digest_day(
    conn: aiosqlite.Connection, subscriber_id: str, day: str, items: int, now: datetime
) -> bool:
    """Inside the caller's transaction, mark the subscriber's digest for `day` built; False if it was."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO digests (subscriber_id, day, built_at, items) VALUES (?, ?, ?, ?)",
        (subscriber_id, day, to_db(now), items),
    )
    await conn.execute("UPDATE subscribers SET last_digest_at = ? WHERE id = ?", (to_db(now), subscriber_id))
    return cursor.rowcount == 1


async def digest_days(db: Database, day: str) -> set[str]:
    """Return the subscribers whose digest for `day` was already built."""
    rows = await db.fetchall("SELECT subscriber_id FROM digests WHERE day = ?", (day,))
    return {row["subscriber_id"] for row in rows}
