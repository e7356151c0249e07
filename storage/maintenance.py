"""Daily housekeeping: item retention (uids are kept), pruning, and SQLite upkeep, in short transactions."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.outbox import prune_sent
from storage.times import to_db

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Housekeeping:
    """What one maintenance run removed."""

    items: int
    outbox: int
    digests: int
    ledger: int = 0  # delivery-ledger rows of the removed items


async def run_housekeeping(
    db: Database, *, items_before: datetime, outbox_before: datetime, digests_before: str
) -> Housekeeping:
    """Delete old items (never their uids) with their ledger rows, sent outbox rows and digest-day rows;
    then optimize. Each step is its own series of short transactions with its own log line."""
    items, ledger = await _step_pair("items", lambda: delete_items_before(db, items_before))
    outbox = await _step("outbox", lambda: prune_sent(db, outbox_before))
    digests = await _step("digests", lambda: prune_digest_days(db, digests_before))
    await _step("optimize", lambda: optimize(db))
    return Housekeeping(items, outbox, digests, ledger)


async def _step_pair(name: str, run: Callable[[], Awaitable[tuple[int, int]]]) -> tuple[int, int]:
    started = time.perf_counter()
    items, ledger = await run()
    log.info("housekeeping step=%s removed=%d ledger=%d elapsed=%.3f", name, items, ledger,
             time.perf_counter() - started)  # fmt: skip
    return items, ledger


async def _step(name: str, run: Callable[[], Awaitable[int]]) -> int:
    started = time.perf_counter()
    removed = await run()
    log.info("housekeeping step=%s removed=%d elapsed=%.3f", name, removed, time.perf_counter() - started)
    return removed


async def delete_items_before(db: Database, before: datetime, *, chunk: int = 500) -> tuple[int, int]:
    """Delete items first seen before then, and their ledger rows first: an item can have reached
    thousands of chats, and deleting it would cascade them all in one statement. Items go a chunk at a
    time, each part in short transactions; seen_uids stays, so an old item sliding back into view is
    still not new. Return (items, ledger rows) deleted."""
    items = ledger = 0
    while ids := await expired_item_ids(db, before, chunk):
        chosen = (json.dumps(ids),)
        ledger += await db.delete_in_batches(
            "deliveries", "item_id IN (SELECT value FROM json_each(?))", chosen, key="subscriber_id, item_id"
        )
        items += await db.delete_in_batches("items", "id IN (SELECT value FROM json_each(?))", chosen)
    return items, ledger


async def expired_item_ids(db: Database, before: datetime, limit: int) -> list[int]:
    """Return up to `limit` ids of items first seen before then, oldest first."""
    rows = await db.fetchall(
        "SELECT id FROM items WHERE fetched_at < ? ORDER BY fetched_at LIMIT ?", (to_db(before), limit)
    )
    return [row[0] for row in rows]


async def prune_digest_days(db: Database, before_day: str) -> int:
    """Delete the once-a-day digest markers of days before `before_day` (YYYY-MM-DD); return how many."""
    return await db.delete_in_batches("digests", "day < ?", (before_day,), key="subscriber_id, day")


async def optimize(db: Database) -> int:
    """Let SQLite refresh its statistics and fold the write-ahead log back into the file, holding the
    write lock: run inside another task's open transaction, the checkpoint fails ("table is locked")."""
    async with db.exclusive() as conn:
        await conn.execute("PRAGMA optimize")
        await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return 0
