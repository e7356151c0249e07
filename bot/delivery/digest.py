"""Daily digests: what each subscriber has not had yet, capped, written with its ledger rows at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo

import aiosqlite

from bot.config.types import Config, SubscriberConfig
from bot.delivery.filters import ItemMatcher
from bot.delivery.worker import render_message
from bot.platforms.layout import short_date
from bot.platforms.message import Entry, Message
from storage.announcements import Announcement, announcements_since
from storage.db import Database
from storage.deliveries import (
    DigestWrite,
    delivered_item_ids,
    delivered_pairs,
    digest_cursors,
    newest_item_id,
    pushable_items_after,
    write_digests,
)
from storage.items import StoredItem
from storage.subscribers import all_subscribers

log = logging.getLogger(__name__)

DIGEST_CAP = 30  # items shown; the rest are counted and linked to /feed.xml
FIRST_WINDOW = timedelta(days=1)  # a new subscriber's first digest covers the last day
MAX_WINDOW = timedelta(days=7)  # never reach further back than a week (e.g. after a long outage)
_BATCH = 200  # subscribers per transaction


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """One subscriber's digest, before it is queued."""

    subscriber: SubscriberConfig
    items: tuple[StoredItem, ...]  # every matching item not yet delivered, newest first
    announcements: tuple[Announcement, ...]
    message: Message | None  # None: nothing to send
    cursor: int  # the newest item id this digest read; the next one starts after it

    @property
    def shown(self) -> int:
        """How many items the message lists."""
        return min(len(self.items), DIGEST_CAP)


class DigestBuilder:
    """Builds and queues digests for a set of subscribers, through the same code as the scheduled job."""

    def __init__(
        self, db: Database, config: Config, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self.db, self.config, self.clock = db, config, clock
        self.source_names = {s.id: s.name for s in config.sources}
        self._rendered: dict[tuple, list[str]] = {}
        self._messages: dict[tuple, Message | None] = {}

    def day_of(self, subscriber: SubscriberConfig, now: datetime, *, scheduled: bool) -> str:
        """Return the local date a digest built now belongs to: for a scheduled one, the day of its
        latest digest time (a 23:45 digest that runs at 00:05 is still the previous day's)."""
        tz = self.config.bot.timezone
        if scheduled and subscriber.digest is not None:
            return last_scheduled(subscriber.digest, now, tz).date().isoformat()
        return now.astimezone(tz).date().isoformat()

    async def plan(self, subscribers: Sequence[SubscriberConfig]) -> list[DigestPlan]:
        """Work out each subscriber's digest from one read of the candidate items."""
        now = self.clock()
        top = await newest_item_id(self.db)  # read first: whatever is stored later gets a larger id
        cursors = await digest_cursors(self.db)
        keywords = {s.id: s.keywords for s in await all_subscribers(self.db)}
        floor = min((cursors.get(s.id) or 0 for s in subscribers), default=0)
        candidates = [i for i in await pushable_items_after(self.db, floor, now - MAX_WINDOW) if i.id <= top]
        matcher = ItemMatcher(candidates)
        announcements = await announcements_since(self.db, self._day_start(now))
        plans = []
        for subscriber in subscribers:
            cursor = cursors.get(subscriber.id)
            # a first digest covers the last day; later ones whatever came after the previous one
            since = now - FIRST_WINDOW if cursor is None else None
            wanted = matcher.select(
                subscriber, keywords.get(subscriber.id, ()), after_id=cursor or 0, since=since
            )
            done = await delivered_item_ids(self.db, subscriber.id, [i.id for i in wanted])
            items = tuple(i for i in wanted if i.id not in done)  # instant pushes are not repeated
            notices = tuple(a for a in announcements if a.is_for(subscriber.id))
            plans.append(
                DigestPlan(subscriber, items, notices, self._cached_message(items, notices, now), top)
            )
        return plans

    async def queue(self, plans: Sequence[DigestPlan], *, once_per_day: bool) -> list[DigestPlan]:
        """Write outbox and ledger rows together; with once_per_day, skip subscribers already done today."""
        now = self.clock()
        written: dict[str, DigestPlan] = {}
        for start in range(0, len(plans), _BATCH):
            batch = list(plans[start : start + _BATCH])
            writes = [self._write(plan, now, once_per_day) for plan in batch]  # rendered before the lock
            async with self.db.transaction() as conn:
                batch, writes = await self._without_delivered(conn, batch, writes, now, once_per_day)
                done = set(await write_digests(conn, writes, now, once_per_day=once_per_day))
            written.update((plan.subscriber.id, plan) for plan in batch if plan.subscriber.id in done)
        queued = list(written.values())
        for plan in queued:
            log.info("digest queued subscriber_id=%s items=%d shown=%d", plan.subscriber.id, len(plan.items),
                     plan.shown)  # fmt: skip
        return queued

    async def _without_delivered(
        self,
        conn: aiosqlite.Connection,
        plans: list[DigestPlan],
        writes: list[DigestWrite],
        now: datetime,
        scheduled: bool,
    ) -> tuple[list[DigestPlan], list[DigestWrite]]:
        """Inside the write transaction, drop items that reached the subscriber since the plan was read
        (an instant push in between, or another process), so no chat gets an item twice."""
        pairs = [(w.subscriber_id, item_id) for w in writes for item_id in w.item_ids]
        delivered = await delivered_pairs(conn, pairs)
        if not delivered:
            return plans, writes
        for n, plan in enumerate(plans):
            sid = plan.subscriber.id
            if any((sid, i.id) in delivered for i in plan.items[:DIGEST_CAP]):
                items = tuple(i for i in plan.items if (sid, i.id) not in delivered)
                message = self._cached_message(items, plan.announcements, now)
                plans[n] = replace(plan, items=items, message=message)
                writes[n] = self._write(plans[n], now, scheduled)
        return plans, writes

    def _write(self, plan: DigestPlan, now: datetime, scheduled: bool) -> DigestWrite:
        """What storage writes for a plan: the listed items go in the ledger, the cursor passes the rest."""
        sub = plan.subscriber
        payloads = self.render(sub, plan) if plan.message is not None else []
        listed = [i.id for i in plan.items[:DIGEST_CAP]]
        day = self.day_of(sub, now, scheduled=scheduled)
        return DigestWrite(sub.id, day, sub.platform, payloads, listed, plan.cursor, len(plan.items))

    def render(self, subscriber: SubscriberConfig, plan: DigestPlan) -> list[str]:
        """Render for the subscriber's platform; identical digests are rendered once."""
        assert plan.message is not None
        # messages are shared between plans with equal content (and kept alive by self._messages)
        key = (subscriber.platform, subscriber.format, id(plan.message))
        cached = self._rendered.get(key)
        if cached is None:
            cached = self._rendered[key] = render_message(subscriber, plan.message, self.config.bot.timezone)
        return cached

    def _day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.config.bot.timezone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)

    def _cached_message(
        self, items: Sequence[StoredItem], notices: Sequence[Announcement], now: datetime
    ) -> Message | None:
        """Subscribers with the same filters get the same digest: build its message once."""
        key = (tuple(i.id for i in items[:DIGEST_CAP]), len(items), tuple(a.id for a in notices))
        if key not in self._messages:
            self._messages[key] = self._message(items, notices, now)
        return self._messages[key]

    def _message(
        self, items: Sequence[StoredItem], notices: Sequence[Announcement], now: datetime
    ) -> Message | None:
        if not items and not notices:
            return None
        tz = self.config.bot.timezone
        shown = items[:DIGEST_CAP]
        by_source: dict[str, list[StoredItem]] = {}
        for item in shown:  # newest first overall; groups ordered by their newest item
            by_source.setdefault(item.source_id, []).append(item)
        entries = tuple(
            Entry(i.title, i.link, self.source_names.get(i.source_id, i.source_id), i.published_at, i.summary)
            for group in by_source.values()
            for i in group
        )
        text = "\n".join(f"【公告】{a.title}\n{a.body}" for a in notices)
        hidden = len(items) - len(shown)
        footer = f"另有 {hidden} 条未列出" if hidden else ""
        link = f"{self.config.server.public_url}/feed.xml" if hidden and self.config.server.public_url else ""
        title = f"{self.config.bot.name} · {short_date(now, tz)}"
        return Message("digest", title, text=text, entries=entries, footer=footer, link=link)


def last_scheduled(at: time, now: datetime, tz: tzinfo) -> datetime:
    """Return the latest moment at or before `now` when the clock in `tz` read `at`."""
    local = now.astimezone(tz)
    moment = datetime.combine(local.date(), at, tzinfo=tz)
    if moment > local:
        moment = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=tz)
    return moment


def due_subscribers(config: Config, now: datetime, *, grace: timedelta) -> dict[str, str]:
    """Return the subscribers whose latest digest time passed at most `grace` ago, each with the local
    day that digest belongs to (yesterday's, for a 23:45 digest just after midnight)."""
    due = {}
    for subscriber in config.subscribers:
        if subscriber.digest is None:
            continue
        at = last_scheduled(subscriber.digest, now, config.bot.timezone)
        if now - at <= grace:
            due[subscriber.id] = at.date().isoformat()
    return due
