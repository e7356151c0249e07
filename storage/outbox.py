"""The outbox aggregate: every message written before it is sent, drained in id order per subscriber."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.subscribers import mark_subscribers_healthy
from storage.times import from_db, to_db

# A subscriber's head is its oldest pending-or-sending message. Each min() is one seek in the
# outbox_subscriber (subscriber_id, state, id) index, so the cost grows with subscribers, not with rows;
# a 'sending' head is still due, so a message in flight when the process died is sent again.
_DUE = """
WITH heads AS MATERIALIZED (
    SELECT (SELECT min(id) FROM outbox WHERE subscriber_id = s.id AND state = 'pending') AS p,
           (SELECT min(id) FROM outbox WHERE subscriber_id = s.id AND state = 'sending') AS q
    FROM subscribers s
    WHERE s.health != 'failing'
)
SELECT o.* FROM heads h JOIN outbox o ON o.id = min(coalesce(h.p, h.q), coalesce(h.q, h.p))
WHERE o.next_attempt_at <= ?
ORDER BY o.next_attempt_at, o.id
LIMIT ?
"""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message to send, as stored."""

    id: int
    subscriber_id: str
    kind: str
    platform: str
    payload: str
    part: int
    parts: int
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """How many of one subscriber's messages are in each state."""

    subscriber_id: str
    pending: int
    sending: int
    dead: int
    sent: int
    oldest_pending_at: datetime | None


async def add_messages(
    conn: aiosqlite.Connection,
    subscriber_id: str,
    kind: str,
    platform: str,
    payloads: Sequence[str],
    now: datetime,
) -> list[int]:
    """Queue the payloads as parts 1..n of one message inside the caller's open transaction; return ids."""
    if not payloads:
        return []
    at = to_db(now)
    rows = [
        (subscriber_id, kind, platform, payload, part, len(payloads), at, at)
        for part, payload in enumerate(payloads, start=1)
    ]
    # One statement, one thread round trip; a multi-row VALUES inserts in order, so sorted ids are parts 1..n.
    found = await conn.execute_fetchall(
        "INSERT INTO outbox (subscriber_id, kind, platform, payload, part, parts, created_at,"
        f" next_attempt_at) VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?, ?)'] * len(rows))} RETURNING id",
        [value for row in rows for value in row],
    )
    return sorted(row[0] for row in found)


async def enqueue_messages(
    db: Database,
    subscriber_id: str,
    kind: str,
    platform: str,
    payloads: Sequence[str],
    now: datetime,
) -> list[int]:
    """Queue the payloads as parts 1..n of one message in a transaction of their own; return ids."""
    async with db.transaction() as conn:
        return await add_messages(conn, subscriber_id, kind, platform, payloads, now)


async def due_messages(db: Database, now: datetime, limit: int = 1000) -> list[OutboxMessage]:
    """Return the head message of every healthy subscriber whose attempt time has come, soonest first."""
    return [_message(row) for row in await db.fetchall(_DUE, (to_db(now), limit))]


async def mark_sending(db: Database, message_id: int, now: datetime) -> None:
    """Record that an attempt to send the message starts now (the schema keeps no start time)."""
    await _update(db, "state = 'sending', attempts = attempts + 1", message_id)


async def mark_sent(db: Database, message_id: int, now: datetime) -> None:
    """Record that the message was delivered."""
    await _update(db, "state = 'sent', sent_at = ?, last_error = NULL", message_id, to_db(now))


async def mark_retry(db: Database, message_id: int, error: str, next_attempt_at: datetime) -> None:
    """Put the message back in the queue with its error, to be tried again at next_attempt_at."""
    await _update(
        db,
        "state = 'pending', last_error = ?, next_attempt_at = ?",
        message_id,
        error,
        to_db(next_attempt_at),
    )


async def mark_dead(db: Database, message_id: int, error: str) -> None:
    """Give up on the message until an operator retries it."""
    await _update(db, "state = 'dead', last_error = ?", message_id, error)


async def _update(db: Database, assignments: str, message_id: int, *params: object) -> None:
    async with db.transaction() as conn:
        await conn.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", (*params, message_id))


async def requeue_in_flight(db: Database) -> int:
    """At start-up, requeue every message caught mid-send (it may have gone: at least once); return count."""
    async with db.transaction() as conn:
        cursor = await conn.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")
    return cursor.rowcount


async def retry_dead(db: Database, now: datetime, subscriber_id: str | None = None) -> int:
    """Requeue dead messages of one or all subscribers and mark those subscribers healthy; return how many."""
    where, params = ("AND subscriber_id = ?", (subscriber_id,)) if subscriber_id else ("", ())
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?"
            f" WHERE state = 'dead' {where}",
            (to_db(now), *params),
        )
        # The operator fixed the key: every failing subscriber in scope may send again.
        await mark_subscribers_healthy(conn, [subscriber_id] if subscriber_id else None)
    return cursor.rowcount


async def outbox_counts(db: Database) -> list[OutboxCounts]:
    """Return per-state message counts of every subscriber that has any outbox row, ordered by id."""
    rows = await db.fetchall(
        "SELECT subscriber_id, sum(state = 'pending') AS pending, sum(state = 'sending') AS sending,"
        " sum(state = 'dead') AS dead, sum(state = 'sent') AS sent,"
        " min(CASE WHEN state = 'pending' THEN created_at END) AS oldest_pending_at"
        " FROM outbox GROUP BY subscriber_id ORDER BY subscriber_id"
    )
    return [
        OutboxCounts(
            r["subscriber_id"],
            r["pending"],
            r["sending"],
            r["dead"],
            r["sent"],
            from_db(r["oldest_pending_at"]),
        )
        for r in rows
    ]


async def outbox_totals(db: Database) -> tuple[int, int]:
    """Return (waiting, dead) over every subscriber: pending and in-flight messages, given-up ones."""
    row = await db.fetchone(
        "SELECT count(*) FILTER (WHERE state IN ('pending', 'sending')),"
        " count(*) FILTER (WHERE state = 'dead') FROM outbox WHERE state != 'sent'"
    )
    return (row[0], row[1]) if row else (0, 0)


async def dead_messages(
    db: Database, subscriber_id: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """Return the dead messages of one or all subscribers, oldest first."""
    where, params = ("AND subscriber_id = ?", [subscriber_id]) if subscriber_id else ("", [])
    rows = await db.fetchall(
        f"SELECT * FROM outbox WHERE state = 'dead' {where} ORDER BY id LIMIT ?", [*params, limit]
    )
    return [_message(row) for row in rows]


async def sends_since(db: Database, since: datetime) -> list[tuple[str, datetime]]:
    """Return (subscriber id, sent at) of messages sent since then, oldest first, to re-seed rate limits."""
    rows = await db.fetchall(
        "SELECT subscriber_id, sent_at FROM outbox WHERE state = 'sent' AND sent_at >= ?"
        " ORDER BY sent_at, id",
        (to_db(since),),
    )
    return [(row["subscriber_id"], from_db(row["sent_at"])) for row in rows]


async def prune_sent(db: Database, before: datetime) -> int:
    """Delete messages sent before then in short transactions (the delivery ledger keeps its rows,
    their outbox_id set to NULL); return how many."""
    return await db.delete_in_batches("outbox", "state = 'sent' AND sent_at < ?", (to_db(before),))


def _message(row: sqlite3.Row) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        subscriber_id=row["subscriber_id"],
        kind=row["kind"],
        platform=row["platform"],
        payload=row["payload"],
        part=row["part"],
        parts=row["parts"],
        state=row["state"],
        attempts=row["attempts"],
        created_at=from_db(row["created_at"]),
        next_attempt_at=from_db(row["next_attempt_at"]),
        sent_at=from_db(row["sent_at"]),
        last_error=row["last_error"],
    )
