"""`parkbot digest`: build today's digests now, through the same code as the scheduled job."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from bot.app import client_session
from bot.config.types import Config, SubscriberConfig
from bot.database import open_database
from bot.delivery.digest import DigestBuilder, DigestPlan
from bot.delivery.worker import build_deliverer
from bot.errors import UsageError
from bot.platforms import console
from storage.db import Database
from storage.outbox import outbox_counts

SEND_WAIT = timedelta(seconds=60)  # how long the command keeps sending before leaving the rest queued


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
    db = await open_database(config, datetime.now(UTC))
    try:
        builder = DigestBuilder(db, config)
        plans = await builder.plan(subscribers)
        sent: dict[str, bool] = {}
        if not preview:
            queued = await builder.queue(plans, once_per_day=False)
            sent = await _deliver(db, config, [p.subscriber.id for p in queued])
    finally:
        await db.close()
    rows = [_row(plan, config, sent.get(plan.subscriber.id, False)) for plan in plans]
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    return "\n\n".join(_text(row) for row in rows) or "no subscribers with a digest"


async def _deliver(db: Database, config: Config, subscriber_ids: list[str]) -> dict[str, bool]:
    """Send what was queued, within rate limits, for up to SEND_WAIT; return who has nothing pending."""
    async with client_session() as session:
        deliverer = build_deliverer(db, session, config)
        await deliverer.recover()
        deadline = datetime.now(UTC) + SEND_WAIT
        while True:
            if await deliverer.deliver_due():
                continue
            wake = await deliverer.next_wake()
            if wake is None or wake > deadline:
                break
            # a robot's rate limit or a retry: wait for it, then send again
            await asyncio.sleep(max((wake - datetime.now(UTC)).total_seconds(), 0))
    waiting = {c.subscriber_id for c in await outbox_counts(db) if c.pending or c.sending or c.dead}
    return {sid: sid not in waiting for sid in subscriber_ids}


def _row(plan: DigestPlan, config: Config, sent: bool) -> dict[str, object]:
    messages = (
        [] if plan.message is None else [p["text"] for p in console.render(plan.message, config.bot.timezone)]
    )
    return {"subscriber": plan.subscriber.id, "items": len(plan.items), "messages": messages, "sent": sent}


def _text(row: dict[str, object]) -> str:
    head = f"── {row['subscriber']}: {row['items']} item(s){' · sent' if row['sent'] else ''}"
    body = "\n".join(row["messages"]) if row["messages"] else "(nothing new: no digest)"  # type: ignore[arg-type]
    return f"{head}\n{body}"
