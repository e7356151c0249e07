"""The items aggregate: insert once per (source, uid), list newest first, search in Chinese."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from feeds.models import ParsedItem
from storage.db import Database
from storage.models import PushState, StoredItem
from storage.times import from_db, to_db

_NEWEST = "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC"
# The trigram tokenizer needs three characters; shorter terms are matched with LIKE.
_TRIGRAM = 3


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
    wanted = set(uids)
    seen: set[str] = set()
    batch = list(wanted)
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            f"SELECT uid FROM seen_uids WHERE source_id = ? AND uid IN ({marks})", (source_id, *chunk)
        )
        seen.update(row["uid"] for row in rows)
    return wanted - seen


async def insert_new_items(
    db: Database,
    source_id: str,
    items: Sequence[tuple[ParsedItem, PushState]],
    fetched_at: datetime,
) -> InsertOutcome:
    """Store never-seen items (oldest first) and update edited ones; return the new rows."""
    new: list[StoredItem] = []
    updated = 0
    async with db.transaction() as conn:
        for item, state in items:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO seen_uids (source_id, uid, first_seen_at) VALUES (?, ?, ?)",
                (source_id, item.uid, to_db(fetched_at)),
            )
            if cursor.rowcount:
                new.append(await _insert(conn, source_id, item, state, fetched_at))
            else:
                updated += await _update_if_edited(conn, source_id, item, fetched_at)
    return InsertOutcome(tuple(new), updated)


async def _insert(
    conn: aiosqlite.Connection, source_id: str, item: ParsedItem, state: PushState, at: datetime
) -> StoredItem:
    cursor = await conn.execute(
        "INSERT INTO items (source_id, uid, link, title, summary, published_at, fetched_at,"
        " content_hash, push_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source_id,
            item.uid,
            item.url,
            item.title,
            item.summary,
            to_db(item.published_at),
            to_db(at),
            content_hash(item.title, item.summary),
            state.value,
        ),
    )
    return StoredItem(
        cursor.lastrowid,
        source_id,
        item.uid,
        item.url,
        item.title,
        item.summary,
        item.published_at,
        at,
        state,
    )


async def _update_if_edited(
    conn: aiosqlite.Connection, source_id: str, item: ParsedItem, at: datetime
) -> int:
    """An edited title or summary replaces the stored one; it is never announced again."""
    cursor = await conn.execute(
        "UPDATE items SET title = ?, summary = ?, link = ?, content_hash = ?, updated_at = ?"
        " WHERE source_id = ? AND uid = ? AND content_hash != ?",
        (
            item.title,
            item.summary,
            item.url,
            (digest := content_hash(item.title, item.summary)),
            to_db(at),
            source_id,
            item.uid,
            digest,
        ),
    )
    return cursor.rowcount


async def newest_items(db: Database, *, source_id: str | None = None, limit: int = 20) -> list[StoredItem]:
    """Return the newest stored items, optionally of one source."""
    where, params = ("WHERE source_id = ?", [source_id]) if source_id else ("", [])
    rows = await db.fetchall(f"SELECT * FROM items {where} {_NEWEST} LIMIT ?", [*params, limit])
    return [_item(row) for row in rows]


async def search_items(
    db: Database, text: str, *, source_id: str | None = None, limit: int = 10
) -> list[StoredItem]:
    """Return the newest items whose title or summary contains every term of text."""
    clauses, params = [], []
    for term in text.split():
        if len(term) >= _TRIGRAM:
            clauses.append("id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
            params.append('"' + term.replace('"', '""') + '"')
        else:
            pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("(title LIKE ? ESCAPE '\\' OR summary LIKE ? ESCAPE '\\')")
            params += [pattern, pattern]
    if not clauses:
        return []
    if source_id:
        clauses.append("source_id = ?")
        params.append(source_id)
    rows = await db.fetchall(
        f"SELECT * FROM items WHERE {' AND '.join(clauses)} {_NEWEST} LIMIT ?", [*params, limit]
    )
    return [_item(row) for row in rows]


def _item(row: sqlite3.Row) -> StoredItem:
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
