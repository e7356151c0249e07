"""`parkbot digest`: build today's digests now, through the same code as the scheduled job."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.app import client_session
from bot.cli.sending import SERVICE_SENDS, send_queued
from bot.config.types import Config, SubscriberConfig
from bot.database import open_database
from bot.delivery.digest import DigestBuilder, DigestPlan
from bot.delivery.worker import build_deliverer
from bot.errors import UsageError
from bot.platforms import console
from storage.db import Database
from storage.outbox import outbox_counts


def choose_subscribers(config: Config, wanted: list[str] | None) -> list[SubscriberConfig]:
    """Return the subscribers named (any digest setting), else every one with a digest time."""
    if not wanted:
        return [s for s in config.subscribers if s.digest is not None]
    known = {s.id: s for s in config.subscribers}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise UsageError(f"--subscriber: no subscriber {unknown[0]!r} in {config.path.name}")
    return [known[w] for w in dict.fromkeys(wanted)]


async def run_digest(config: Config, *, wanted: list[str] | None, preview: bool, as_json: bool) -> str:
    """Build (and unless preview, queue and send) digests; print what each subscriber gets."""
    subscribers = choose_subscribers(config, wanted)
    db = await open_database(config, datetime.now(UTC), read_only=preview)
    sent: dict[str, bool] = {}
    by_service = False
    try:
        builder = DigestBuilder(db, config)
        plans = await builder.plan(subscribers)
        if not preview:
            queued = await builder.queue(plans, once_per_day=False)
            sent, by_service = await _deliver(db, config, [p.subscriber.id for p in queued])
    finally:
        await db.close()
    rows = [_row(plan, config, sent.get(plan.subscriber.id, False)) for plan in plans]
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    shown = "\n\n".join(_text(row) for row in rows) or "no subscribers with a digest"
    return f"{shown}\n\n{SERVICE_SENDS}" if by_service else shown


async def _deliver(db: Database, config: Config, subscriber_ids: list[str]) -> tuple[dict[str, bool], bool]:
    """Send what was queued unless the service does; return who has nothing pending, and whether the
    running service is left to send."""
    async with client_session() as session:
        by_service = not await send_queued(build_deliverer(db, session, config))
    waiting = {c.subscriber_id for c in await outbox_counts(db) if c.pending or c.sending or c.dead}
    return {sid: sid not in waiting for sid in subscriber_ids}, by_service and bool(subscriber_ids)


def _row(plan: DigestPlan, config: Config, sent: bool) -> dict[str, object]:
    messages = (
        [] if plan.message is None else [p["text"] for p in console.render(plan.message, config.bot.timezone)]
    )
    return {"subscriber": plan.subscriber.id, "items": len(plan.items), "messages": messages, "sent": sent}


def _text(row: dict[str, object]) -> str:
    head = f"── {row['subscriber']}: {row['items']} item(s){' · sent' if row['sent'] else ''}"
    body = "\n".join(row["messages"]) if row["messages"] else "(nothing new: no digest)"  # type: ignore[arg-type]
    return f"{head}\n{body}"
