"""Operational alerts for staff: each open condition is raised once until it clears."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class Alert:
    """One open alert."""

    key: str
    message: str
    raised_at: datetime


def subscriber_failing_key(subscriber_id: str) -> str:
    """The alert raised when a subscriber's robot refuses messages for good; cleared when it is healthy."""
    return f"subscriber-failing:{subscriber_id}"


async def raise_alert(db: Database, key: str, message: str, now: datetime) -> bool:
    """Open the alert under key; return False when it was already open (so nobody is told twice)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO alerts (key, message, raised_at) VALUES (?, ?, ?)",
            (key, message, to_db(now)),
        )
    return cursor.rowcount == 1


async def clear_alerts(db: Database, *keys: str) -> None:
    """Close the alerts under these keys, so the condition is reported again if it comes back."""
    async with db.transaction() as conn:
        await conn.executemany("DELETE FROM alerts WHERE key = ?", [(key,) for key in keys])


async def open_alerts(db: Database) -> list[Alert]:
    """Return every open alert, oldest first."""
    rows = await db.fetchall("SELECT key, message, raised_at FROM alerts ORDER BY raised_at, key")
    return [Alert(r["key"], r["message"], from_db(r["raised_at"])) for r in rows]
