"""The delivery ledger: which item reached which subscriber, written with its outbox rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.items import StoredItem, item_from_row
from storage.times import to_db

_BATCH = 500


async def pushable_items_after(db: Database, after_id: int, since: datetime) -> list[StoredItem]:
    """Return items that may be pushed, stored after item `after_id` and first seen after `since`."""
    rows = await db.fetchall(
        "SELECT * FROM items WHERE id > ? AND push_state = 'push' AND fetched_at > ? ORDER BY id",
        (after_id, to_db(since)),
    )
    return [item_from_row(row) for row in rows]


async def newest_item_id(db: Database) -> int:
    """Return the largest item id stored so far (0 when there is none)."""
    return int(await db.fetchvalue("SELECT coalesce(max(id), 0) FROM items"))


async def digest_cursors(db: Database) -> dict[str, int | None]:
    """Return each subscriber's digest cursor: the newest item id its last digest had read."""
    rows = await db.fetchall("SELECT id, digest_cursor FROM subscribers")
    return {row["id"]: row["digest_cursor"] for row in rows}


async def instant_cursors(db: Database) -> dict[str, int]:
    """Return each subscriber's instant cursor: the newest item id its instant pushes have covered."""
    rows = await db.fetchall("SELECT id, coalesce(instant_cursor, 0) FROM subscribers")
    return {row[0]: row[1] for row in rows}


async def advance_instant_cursors(conn: aiosqlite.Connection, cursors: Mapping[str, int]) -> None:
    """Inside the caller's transaction, move instant cursors forward (never back)."""
    await conn.executemany(
        "UPDATE subscribers SET instant_cursor = max(coalesce(instant_cursor, 0), ?) WHERE id = ?",
        [(cursor, sid) for sid, cursor in cursors.items()],
    )


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


async def delivered_pairs(
    conn: aiosqlite.Connection, pairs: Sequence[tuple[str, int]]
) -> set[tuple[str, int]]:
    """Inside the caller's transaction, return which (subscriber, item) pairs are already in the ledger."""
    if not pairs:
        return set()
    rows = await conn.execute_fetchall(
        "SELECT d.subscriber_id, d.item_id FROM json_each(?) AS j JOIN deliveries AS d"
        " ON d.subscriber_id = json_extract(j.value, '$[0]') AND d.item_id = json_extract(j.value, '$[1]')",
        (json.dumps(pairs),),
    )
    return {(row[0], row[1]) for row in rows}


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


async def digest_days(db: Database, day: str) -> set[str]:
    """Return the subscribers whose digest for `day` was already built."""
    rows = await db.fetchall("SELECT subscriber_id FROM digests WHERE day = ?", (day,))
    return {row["subscriber_id"] for row in rows}


@dataclass(frozen=True, slots=True)
class DigestWrite:
    """One subscriber's digest as storage writes it: its message parts, listed items and new cursor."""

    subscriber_id: str
    day: str  # YYYY-MM-DD in [bot].timezone: the day the digest belongs to
    platform: str
    payloads: Sequence[str]  # empty: nothing to send, but the day and the cursor are still recorded
    item_ids: Sequence[int]  # the items the message lists, for the ledger
    cursor: int
    matched: int


async def write_digests(
    conn: aiosqlite.Connection, digests: Sequence[DigestWrite], now: datetime, *, once_per_day: bool
) -> list[str]:
    """Inside the caller's transaction, record digest days, cursors, outbox and ledger rows for a batch
    of subscribers in a handful of statements; return the subscribers whose digest was written."""
    if once_per_day:
        done = await _digest_done(conn, [(d.subscriber_id, d.day) for d in digests])
        digests = [d for d in digests if (d.subscriber_id, d.day) not in done]
    at = to_db(now)
    await conn.executemany(
        "INSERT OR IGNORE INTO digests (subscriber_id, day, built_at, items) VALUES (?, ?, ?, ?)",
        [(d.subscriber_id, d.day, at, d.matched) for d in digests],
    )
    await conn.executemany(
        "UPDATE subscribers SET digest_cursor = max(coalesce(digest_cursor, 0), ?), last_digest_at = ?"
        " WHERE id = ?",
        [(d.cursor, at, d.subscriber_id) for d in digests],
    )
    # We hold the write lock (BEGIN IMMEDIATE), so numbering the outbox rows ourselves is safe and
    # saves a round trip per subscriber. Numbering starts above the AUTOINCREMENT high-water mark, not
    # max(id): ids of pruned rows are never handed out again.
    async with conn.execute(
        "SELECT max(coalesce(max(id), 0), coalesce((SELECT seq FROM sqlite_sequence"
        " WHERE name = 'outbox'), 0)) + 1 FROM outbox"
    ) as cursor:
        row = await cursor.fetchone()
    next_id = row[0] if row else 1
    outbox, ledger = [], []
    for d in (d for d in digests if d.payloads):
        first = next_id
        for part, payload in enumerate(d.payloads, start=1):
            outbox.append(
                (next_id, d.subscriber_id, "digest", d.platform, payload, part, len(d.payloads), at, at)
            )
            next_id += 1
        ledger += [(d.subscriber_id, item_id, "digest", first, at) for item_id in d.item_ids]
    await conn.executemany(
        "INSERT INTO outbox (id, subscriber_id, kind, platform, payload, part, parts, created_at,"
        " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        outbox,
    )
    await conn.executemany(
        "INSERT OR IGNORE INTO deliveries (subscriber_id, item_id, kind, outbox_id, queued_at)"
        " VALUES (?, ?, ?, ?, ?)",
        ledger,
    )
    return [d.subscriber_id for d in digests if d.payloads]


async def _digest_done(conn: aiosqlite.Connection, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    rows = await conn.execute_fetchall(
        "SELECT d.subscriber_id, d.day FROM json_each(?) AS j JOIN digests AS d"
        " ON d.subscriber_id = json_extract(j.value, '$[0]') AND d.day = json_extract(j.value, '$[1]')",
        (json.dumps(pairs),),
    )
    return {(row[0], row[1]) for row in rows}
