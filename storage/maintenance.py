"""Daily housekeeping: item retention (uids are kept), pruning, and SQLite upkeep, in small transactions."""

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

# Rows deleted per transaction. Each batch holds the write lock for a few milliseconds, so polls, sends
# and /healthz go on between batches instead of waiting for the whole prune.
BATCH = 500


@dataclass(frozen=True, slots=True)
class Housekeeping:
    """What one maintenance run removed."""

    items: int
    outbox: int
    digests: int


async def run_housekeeping(
    db: Database, *, items_before: datetime, outbox_before: datetime, digests_before: str
) -> Housekeeping:
    """Delete old items (never their uids), sent outbox rows and digest-day rows; then optimize."""
    items = await _step("items", lambda: delete_items_before(db, items_before))
    outbox = await _step("outbox", lambda: prune_sent(db, outbox_before, batch=BATCH))
    digests = await _step("digests", lambda: prune_digest_days(db, digests_before))
    await _step("optimize", lambda: optimize(db))
    return Housekeeping(items, outbox, digests)


async def _step(name: str, run: Callable[[], Awaitable[int]]) -> int:
    started = time.perf_counter()
    removed = await run()
    log.info("housekeeping step=%s removed=%d elapsed=%.3f", name, removed, time.perf_counter() - started)
    return removed


async def delete_items_before(db: Database, before: datetime, *, batch: int = BATCH) -> int:
    """Delete items first seen before then, a batch per transaction; seen_uids stays, so an old item
    sliding back into view is still not new. Return how many were deleted."""
    return await db.delete_in_batches("items", "fetched_at < ?", (to_db(before),), batch)


async def prune_digest_days(db: Database, before_day: str) -> int:
    """Delete the once-a-day digest markers of days before `before_day` (YYYY-MM-DD); return how many."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM digests WHERE day < ?", (before_day,))
    return cursor.rowcount


async def optimize(db: Database) -> int:
    """Let SQLite refresh its statistics and fold the write-ahead log back into the file."""
    await db.conn.execute("PRAGMA optimize")
    await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return 0
