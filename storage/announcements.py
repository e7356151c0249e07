"""Announcements posted by staff."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class Announcement:
    """One staff announcement; `targets` None means every subscriber."""

    id: int
    title: str
    body: str
    author: str
    targets: tuple[str, ...] | None
    created_at: datetime

    def is_for(self, subscriber_id: str) -> bool:
        """Whether the announcement is addressed to this subscriber."""
        return self.targets is None or subscriber_id in self.targets


async def announcements_since(db: Database, since: datetime) -> list[Announcement]:
    """Return announcements posted since `since` and not revoked, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM announcements WHERE created_at >= ? AND revoked_at IS NULL ORDER BY id",
        (to_db(since),),
    )
    return [_announcement(row) for row in rows]


def _announcement(row: sqlite3.Row) -> Announcement:
    targets = tuple(json.loads(row["targets"])) if row["targets"] else None
    return Announcement(
        row["id"], row["title"], row["body"], row["author"], targets, from_db(row["created_at"])
    )
