"""Daily housekeeping: item retention (uids are kept), pruning, and SQLite upkeep, in short transactions."""

from __future__ import annotations

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
    ledger = await _step("ledger", lambda: delete_ledger_of_items_before(db, items_before))
    items = await _step("items", lambda: delete_items_before(db, items_before))
    outbox = await _step("outbox", lambda: prune_sent(db, outbox_before))
    digests = await _step("digests", lambda: prune_digest_days(db, digests_before))
    await _step("optimize", lambda: optimize(db))
    return Housekeeping(items, outbox, digests, ledger)


async def _step(name: str, run: Callable[[], Awaitable[int]]) -> int:
    started = time.perf_counter()
    removed = await run()
    log.info("housekeeping step=%s removed=%d elapsed=%.3f", name, removed, time.perf_counter() - started)
    return removed


async def delete_ledger_of_items_before(db: Database, before: datetime) -> int:
    """Delete the ledger rows of items first seen before then. An item can have reached thousands of
    chats: deleting the item would cascade them all in one statement, so they go first, in batches."""
    where = "item_id IN (SELECT id FROM items WHERE fetched_at < ?)"
    return await db.delete_in_batches("deliveries", where, (to_db(before),), key="subscriber_id, item_id")


async def delete_items_before(db: Database, before: datetime) -> int:
    """Delete items first seen before then in short transactions; seen_uids stays, so an old item
    sliding back into view is still not new. Return how many were deleted."""
    return await db.delete_in_batches("items", "fetched_at < ?", (to_db(before),))


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
