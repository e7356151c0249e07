"""`parkbot outbox`: what is waiting, what is dead and why, and requeueing the dead after a fix."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo

from bot.cli.tables import render_table
from bot.config.types import Config
from bot.database import open_database
from bot.errors import UsageError
from bot.platforms.layout import local_iso
from storage.outbox import OutboxCounts, OutboxMessage, dead_messages, outbox_counts, retry_dead


async def run_outbox(
    config: Config, now: datetime, *, retry: bool, subscriber: str | None, as_json: bool
) -> str:
    """Show the outbox per subscriber and its dead messages, or requeue the dead ones."""
    if subscriber is not None and subscriber not in {s.id for s in config.subscribers}:
        raise UsageError(f"--subscriber: no subscriber {subscriber!r} in {config.path.name}")
    db = await open_database(config, now, read_only=not retry)
    try:
        if retry:
            count = await retry_dead(db, now, subscriber)
            return json.dumps({"requeued": count}) if as_json else f"requeued {count} dead message(s)"
        counts = [c for c in await outbox_counts(db) if subscriber in (None, c.subscriber_id)]
        dead = await dead_messages(db, subscriber)
    finally:
        await db.close()
    tz = config.bot.timezone
    if as_json:
        return json.dumps(
            {"subscribers": [_count_json(c, tz) for c in counts], "dead": [_dead_json(m, tz) for m in dead]},
            ensure_ascii=False,
            indent=2,
        )
    return _as_text(counts, dead, tz)


def _count_json(c: OutboxCounts, tz: tzinfo) -> dict[str, object]:
    return {
        "subscriber": c.subscriber_id,
        "pending": c.pending,
        "sending": c.sending,
        "dead": c.dead,
        "sent": c.sent,
        "oldest_pending": local_iso(c.oldest_pending_at, tz),
    }


def _dead_json(m: OutboxMessage, tz: tzinfo) -> dict[str, object]:
    return {
        "id": m.id,
        "subscriber": m.subscriber_id,
        "kind": m.kind,
        "part": m.part,
        "parts": m.parts,
        "attempts": m.attempts,
        "created": local_iso(m.created_at, tz),
        "error": m.last_error,
    }


def _as_text(counts: list[OutboxCounts], dead: list[OutboxMessage], tz: tzinfo) -> str:
    if not counts:
        return "outbox is empty"
    rows = [
        [
            c.subscriber_id,
            str(c.pending + c.sending),
            str(c.dead),
            str(c.sent),
            (c.oldest_pending_at.astimezone(tz).strftime("%m-%d %H:%M") if c.oldest_pending_at else ""),
        ]
        for c in counts
    ]
    lines = [render_table(["subscriber", "pending", "dead", "sent", "oldest pending"], rows)]
    if dead:
        lines += ["", "dead messages (fix the key, then: parkbot outbox --retry-dead):"]
        lines += [f"  #{m.id} {m.subscriber_id} {m.kind} ({m.part}/{m.parts}): {m.last_error}" for m in dead]
    return "\n".join(lines)
