"""The items aggregate: insert once per (source, uid), list newest first, search in Chinese."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import aiosqlite

from feeds.models import ParsedItem
from storage.db import Database
from storage.times import from_db, to_db


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


_NEWEST = "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC"
_BATCH = 500  # uids per IN (...) query, well under SQLite's variable limit


def content_hash(title: str, summary: str) -> str:
    """Return a short hash of what a reader sees, to notice edits under the same uid."""
    return hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class InsertOutcome:
    """What one batch of parsed items changed."""

    new: tuple[StoredItem, ...]
    updated: int


async def unseen_uids(db: Database, source_id: str, uids: Iterable[str]) -> set[str]:
    """Return the uids this source has never had, including items already removed by retention."""
    wanted = list(dict.fromkeys(uids))
    return set(wanted) - await _seen(db.conn, source_id, wanted)


async def recent_titles(db: Database, source_id: str, limit: int = 1000) -> list[tuple[str, datetime | None]]:
    """Return the titles and publication times of the source's newest stored items."""
    rows = await db.fetchall(
        "SELECT title, published_at FROM items WHERE source_id = ? ORDER BY id DESC LIMIT ?",
        (source_id, limit),
    )
    return [(row["title"], from_db(row["published_at"])) for row in rows]


async def insert_new_items(
    db: Database,
    source_id: str,
    items: Sequence[tuple[ParsedItem, PushState]],
    fetched_at: datetime,
) -> InsertOutcome:
    """Store never-seen items (in the order given) and update edited ones; return the new rows."""
    at = to_db(fetched_at)
    async with db.transaction() as conn:
        seen = await _seen(conn, source_id, [item.uid for item, _ in items])
        fresh: dict[str, tuple[ParsedItem, PushState]] = {}
        for item, state in items:
            if item.uid not in seen:
                fresh.setdefault(item.uid, (item, state))
        # A few statements per batch rather than per item: each aiosqlite call is a thread round trip.
        await conn.executemany(
            "INSERT INTO seen_uids (source_id, uid, first_seen_at) VALUES (?, ?, ?)",
            [(source_id, uid, at) for uid in fresh],
        )
        await conn.executemany(
            "INSERT INTO items (source_id, uid, link, title, summary, published_at, fetched_at,"
            " content_hash, push_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_row(source_id, item, state, at) for item, state in fresh.values()],
        )
        ids = await _ids(conn, source_id, list(fresh))
        updated = await _update_edited(conn, source_id, [item for item, _ in items if item.uid in seen], at)
    new = tuple(
        StoredItem(
            ids[item.uid],
            source_id,
            item.uid,
            item.url,
            item.title,
            item.summary,
            item.published_at,
            fetched_at,
            state,
        )
        for item, state in fresh.values()
    )
    return InsertOutcome(new, updated)


def _row(source_id: str, item: ParsedItem, state: PushState, at: str) -> tuple[object, ...]:
    return (
        source_id,
        item.uid,
        item.url,
        item.title,
        item.summary,
        to_db(item.published_at),
        at,
        content_hash(item.title, item.summary),
        state.value,
    )


async def _seen(conn: aiosqlite.Connection, source_id: str, uids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(uids), _BATCH):
        chunk = uids[start : start + _BATCH]
        marks = ",".join("?" * len(chunk))
        rows = await conn.execute_fetchall(
            f"SELECT uid FROM seen_uids WHERE source_id = ? AND uid IN ({marks})", (source_id, *chunk)
        )
        found.update(row[0] for row in rows)
    return found


async def _ids(conn: aiosqlite.Connection, source_id: str, uids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(uids), _BATCH):
        chunk = uids[start : start + _BATCH]
        marks = ",".join("?" * len(chunk))
        rows = await conn.execute_fetchall(
            f"SELECT uid, id FROM items WHERE source_id = ? AND uid IN ({marks})", (source_id, *chunk)
        )
        found.update((row[0], row[1]) for row in rows)
    return found


async def _update_edited(
    conn: aiosqlite.Connection, source_id: str, items: Sequence[ParsedItem], at: str
) -> int:
    """An edited title or summary replaces the stored one; it is never announced again."""
    if not items:
        return 0
    cursor = await conn.executemany(
        "UPDATE items SET title = ?, summary = ?, link = ?, content_hash = ?, updated_at = ?"
        " WHERE source_id = ? AND uid = ? AND content_hash != ?",
        [
            (i.title, i.summary, i.url, (h := content_hash(i.title, i.summary)), at, source_id, i.uid, h)
            for i in items
        ],
    )
    return cursor.rowcount


async def newest_items(db: Database, *, source_id: str | None = None, limit: int = 20) -> list[StoredItem]:
    """Return the newest stored items, optionally of one source."""
    where, params = ("WHERE source_id = ?", [source_id]) if source_id else ("", [])
    rows = await db.fetchall(f"SELECT * FROM items {where} {_NEWEST} LIMIT ?", [*params, limit])
    return [item_from_row(row) for row in rows]


def item_from_row(row: sqlite3.Row) -> StoredItem:
    """Return the StoredItem of an items row."""
    return StoredItem(
        id=row["id"],
        source_id=row["source_id"],
        uid=row["uid"],
        link=row["link"],
        title=row["title"],
        summary=row["summary"],
        published_at=from_db(row["published_at"]),
        fetched_at=from_db(row["fetched_at"]),
        push_state=PushState(row["push_state"]),
    )
