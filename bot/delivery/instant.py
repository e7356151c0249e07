"""Instant pushes: items stored since a subscriber's instant cursor, as one message per subscriber.

The cursor moves in the same transaction as the message's outbox and ledger rows, so items stored by a
poll whose push never ran (an exception, a shutdown, a crash) go out with the next round, and the
ledger is read again inside that transaction, so a digest queued meanwhile is never repeated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.config.types import Config, SubscriberConfig
from bot.delivery.filters import ItemMatcher
from bot.delivery.worker import render_message
from bot.platforms.message import Entry, Message
from storage.db import Database
from storage.deliveries import (
    add_deliveries,
    advance_instant_cursors,
    delivered_item_ids,
    instant_cursors,
    newest_item_id,
    pushable_items_after,
)
from storage.items import StoredItem
from storage.outbox import add_messages
from storage.subscribers import all_subscribers

# Items first seen longer ago are left to the digest: a subscriber switched to instant, or a service
# down for days, does not flood its chat.
INSTANT_WINDOW = timedelta(days=1)


async def push_instant(db: Database, config: Config, now: datetime) -> dict[str, int]:
    """Queue one message per instant subscriber with the matching items stored since its cursor; return
    how many items each subscriber got."""
    subscribers = [s for s in config.subscribers if s.instant]
    if not subscribers:
        return {}
    top = await newest_item_id(db)  # read first: whatever is stored later gets a larger id
    cursors = await instant_cursors(db)
    floor = min(cursors.get(s.id, top) for s in subscribers)
    if floor >= top:
        return {}
    candidates = [i for i in await pushable_items_after(db, floor, now - INSTANT_WINDOW) if i.id <= top]
    matcher = ItemMatcher(candidates)
    keywords = {s.id: s.keywords for s in await all_subscribers(db)}
    names = {s.id: s.name for s in config.sources}
    queued: dict[str, int] = {}
    idle: dict[str, int] = {}
    for subscriber in subscribers:
        cursor = cursors.get(subscriber.id, top)
        wanted = matcher.select(subscriber, keywords.get(subscriber.id, ()), after_id=cursor)
        if not wanted:
            idle[subscriber.id] = top
        elif count := await _push(db, config, subscriber, wanted, names, top, now):
            queued[subscriber.id] = count
    async with db.transaction() as conn:  # nothing matched: only the cursors move, all at once
        await advance_instant_cursors(conn, idle)
    return queued


async def _push(
    db: Database,
    config: Config,
    subscriber: SubscriberConfig,
    wanted: Sequence[StoredItem],
    names: Mapping[str, str],
    top: int,
    now: datetime,
) -> int:
    """Write one subscriber's push and move its cursor to `top`, in one transaction."""
    async with db.transaction() as conn:
        done = await delivered_item_ids(db, subscriber.id, [i.id for i in wanted])
        items = [i for i in wanted if i.id not in done]
        if items:
            payloads = render_message(subscriber, _message(config, items, names), config.bot.timezone)
            ids = await add_messages(conn, subscriber.id, "item", subscriber.platform, payloads, now)
            await add_deliveries(conn, subscriber.id, [i.id for i in items], "instant", ids[0], now)
        await advance_instant_cursors(conn, {subscriber.id: top})
    return len(items)


def _message(config: Config, items: Sequence[StoredItem], names: Mapping[str, str]) -> Message:
    entries = tuple(Entry(i.title, i.link, names.get(i.source_id, i.source_id), i.published_at, i.summary)
                    for i in items)  # fmt: skip
    title = config.bot.name if len(items) == 1 else f"{config.bot.name} · {len(items)} 条新消息"
    return Message("item", title, entries=entries)
