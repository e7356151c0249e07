"""Instant pushes: the matching new items of one poll round, as one message per subscriber."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.config.types import Config, SubscriberConfig
from bot.delivery.filters import ItemMatcher
from bot.delivery.worker import render_message
from bot.platforms.message import Entry, Message
from storage.db import Database
from storage.deliveries import add_deliveries, delivered_item_ids
from storage.items import PushState, StoredItem
from storage.outbox import add_messages


async def push_instant(
    db: Database,
    config: Config,
    new_items: Sequence[StoredItem],
    keywords: Mapping[str, Sequence[str]],
    now: datetime,
) -> dict[str, int]:
    """Queue one message per instant subscriber with its matching new items; return items per subscriber."""
    pushable = [i for i in new_items if i.push_state is PushState.PUSH]
    if not pushable:
        return {}
    matcher = ItemMatcher(pushable)
    names = {s.id: s.name for s in config.sources}
    queued: dict[str, int] = {}
    for subscriber in (s for s in config.subscribers if s.instant):
        wanted = matcher.select(subscriber, keywords.get(subscriber.id, ()))
        done = await delivered_item_ids(db, subscriber.id, [i.id for i in wanted])
        items = [i for i in wanted if i.id not in done]
        if items:
            await _queue(db, config, subscriber, items, names, now)
            queued[subscriber.id] = len(items)
    return queued


async def _queue(
    db: Database,
    config: Config,
    subscriber: SubscriberConfig,
    items: Sequence[StoredItem],
    names: Mapping[str, str],
    now: datetime,
) -> None:
    entries = tuple(Entry(i.title, i.link, names.get(i.source_id, i.source_id), i.published_at, i.summary)
                    for i in items)  # fmt: skip
    title = config.bot.name if len(items) == 1 else f"{config.bot.name} · {len(items)} 条新消息"
    payloads = render_message(subscriber, Message("item", title, entries=entries), config.bot.timezone)
    async with db.transaction() as conn:
        ids = await add_messages(conn, subscriber.id, "item", subscriber.platform, payloads, now)
        await add_deliveries(conn, subscriber.id, [i.id for i in items], "instant", ids[0], now)
