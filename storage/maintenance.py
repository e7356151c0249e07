"""Daily housekeeping: item retention (uids are kept), pruning, and SQLite upkeep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.times import to_db


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
    async with db.transaction() as conn:
        # seen_uids stays: an old item sliding back into view is still not new.
        items = await conn.execute("DELETE FROM items WHERE fetched_at < ?", (to_db(items_before),))
        outbox = await conn.execute(
            "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?", (to_db(outbox_before),)
        )
        digests = await conn.execute("DELETE FROM digests WHERE day < ?", (digests_before,))
    await db.conn.execute("PRAGMA optimize")
    await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Housekeeping(items.rowcount, outbox.rowcount, digests.rowcount)
