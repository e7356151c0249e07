"""The sources aggregate: one row of polling state per configured source."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Database
from storage.errors import NotFound
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's polling state as stored."""

    id: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    error_count: int
    last_error: str | None
    last_error_at: datetime | None
    empty_polls: int
    next_poll_at: datetime | None
    seeded_at: datetime | None
    item_count: int
    newest_item_at: datetime | None


_SELECT = """
SELECT s.*,
       (SELECT count(*) FROM items i WHERE i.source_id = s.id) AS item_count,
       (SELECT max(coalesce(i.published_at, i.fetched_at)) FROM items i WHERE i.source_id = s.id)
           AS newest_item_at
FROM sources s
"""


async def sync_sources(db: Database, sources: Iterable[tuple[str, str]], now: datetime) -> None:
    """Make sure every configured (id, url) has a row; a changed URL forgets the old validators."""
    async with db.transaction() as conn:
        for source_id, url in sources:
            await conn.execute(
                "INSERT INTO sources (id, url, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET url = excluded.url, etag = NULL,"
                " last_modified = NULL, body_hash = NULL WHERE sources.url != excluded.url",
                (source_id, url, to_db(now)),
            )


async def all_sources(db: Database) -> list[SourceState]:
    """Return every source's state, ordered by id."""
    return [_state(row) for row in await db.fetchall(_SELECT + " ORDER BY s.id")]


async def source_by_id(db: Database, source_id: str, *, with_counts: bool = True) -> SourceState:
    """Return one source's state or raise NotFound; without counts it skips the items subqueries."""
    select = _SELECT if with_counts else "SELECT s.*, 0 AS item_count, NULL AS newest_item_at FROM sources s"
    row = await db.fetchone(select + " WHERE s.id = ?", (source_id,))
    if row is None:
        raise NotFound(f"no source {source_id!r}")
    return _state(row)


def _state(row: sqlite3.Row) -> SourceState:
    return SourceState(
        id=row["id"],
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_polled_at=from_db(row["last_polled_at"]),
        last_success_at=from_db(row["last_success_at"]),
        last_status=row["last_status"],
        error_count=row["error_count"],
        last_error=row["last_error"],
        last_error_at=from_db(row["last_error_at"]),
        empty_polls=row["empty_polls"],
        next_poll_at=from_db(row["next_poll_at"]),
        seeded_at=from_db(row["seeded_at"]),
        item_count=row["item_count"],
        newest_item_at=from_db(row["newest_item_at"]),
    )


async def sources_due(db: Database, now: datetime, limit: int = 1000) -> list[str]:
    """Return the ids of sources whose next poll time has come (never-polled ones first)."""
    rows = await db.fetchall(
        "SELECT id FROM sources WHERE next_poll_at IS NULL OR next_poll_at <= ?"
        " ORDER BY next_poll_at IS NOT NULL, next_poll_at LIMIT ?",
        (to_db(now), limit),
    )
    return [row["id"] for row in rows]


async def next_poll_time(db: Database, source_ids: Iterable[str]) -> datetime | None:
    """Return when the soonest of these sources is due (now, for one never polled), or None for none."""
    row = await db.fetchone(
        "SELECT min(coalesce(next_poll_at, '')) AS at, count(*) AS n FROM sources"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(source_ids)),),
    )
    if row is None or not row["n"]:
        return None
    return from_db(row["at"]) if row["at"] else datetime.min.replace(tzinfo=UTC)


async def record_poll_success(
    db: Database,
    source_id: str,
    *,
    status: str,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    now: datetime,
    next_poll_at: datetime,
) -> None:
    """Store a successful poll: new validators, errors reset, the next poll time, seeded from now on."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE sources SET last_status = ?, etag = ?, last_modified = ?, body_hash = ?,"
            " last_polled_at = ?, last_success_at = ?, error_count = 0, last_error = NULL,"
            " empty_polls = 0, next_poll_at = ?, seeded_at = coalesce(seeded_at, ?) WHERE id = ?",
            (
                status,
                etag,
                last_modified,
                body_hash,
                to_db(now),
                to_db(now),
                to_db(next_poll_at),
                to_db(now),
                source_id,
            ),
        )


async def record_poll_failure(
    db: Database, source_id: str, *, error: str, empty: bool, now: datetime, next_poll_at: datetime
) -> SourceState:
    """Store a failed poll (empty: the item selector matched nothing) and return the updated state."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE sources SET last_status = 'error', last_polled_at = ?, last_error = ?,"
            " last_error_at = ?, error_count = error_count + 1,"
            " empty_polls = CASE WHEN ? THEN empty_polls + 1 ELSE 0 END, next_poll_at = ? WHERE id = ?",
            (to_db(now), error, to_db(now), empty, to_db(next_poll_at), source_id),
        )
    return await source_by_id(db, source_id)


async def schedule_polls(db: Database, times: Iterable[tuple[str, datetime]]) -> None:
    """Set when each source is polled next."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE sources SET next_poll_at = ? WHERE id = ?", [(to_db(at), sid) for sid, at in times]
        )


async def source_health_counts(db: Database, source_ids: Iterable[str]) -> dict[str, int]:
    """Count these sources by health: ok, failing (errors in a row) and new (never polled)."""
    row = await db.fetchone(
        "SELECT sum(error_count = 0 AND last_status IS NOT NULL) AS ok, sum(error_count > 0) AS failing,"
        " sum(error_count = 0 AND last_status IS NULL) AS new FROM sources"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(source_ids)),),
    )
    return {key: (row[key] or 0) if row else 0 for key in ("ok", "failing", "new")}
