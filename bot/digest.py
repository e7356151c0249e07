"""Daily digests: what each subscriber has not had yet, capped, written with its ledger rows at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.config import Config, SubscriberConfig
from bot.delivery import render_message
from bot.filters import ItemMatcher
from bot.platforms.layout import short_date
from bot.platforms.message import Entry, Message
from storage.announcements import Announcement, announcements_since
from storage.db import Database
from storage.deliveries import add_deliveries, claim_digest_day, delivered_item_ids, pushable_items_since
from storage.models import StoredItem, SubscriberState
from storage.outbox import add_messages
from storage.subscribers import all_subscribers

log = logging.getLogger(__name__)

DIGEST_CAP = 30  # items shown; the rest are counted and linked to /feed.xml
FIRST_WINDOW = timedelta(days=1)  # a new subscriber's first digest covers the last day
MAX_WINDOW = timedelta(days=7)  # never reach further back than a week
_BATCH = 200  # subscribers per transaction


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """One subscriber's digest, before it is queued."""

    subscriber: SubscriberConfig
    items: tuple[StoredItem, ...]  # every matching item not yet delivered; all go in the ledger
    announcements: tuple[Announcement, ...]
    message: Message | None  # None: nothing to send

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

    def local_day(self, now: datetime) -> str:
        """Return the date in [bot].timezone that a digest built now belongs to."""
        return now.astimezone(self.config.bot.timezone).date().isoformat()

    async def plan(self, subscribers: Sequence[SubscriberConfig]) -> list[DigestPlan]:
        """Work out each subscriber's digest from one read of the candidate items."""
        now = self.clock()
        states = {s.id: s for s in await all_subscribers(self.db)}
        matcher = ItemMatcher(await pushable_items_since(self.db, now - MAX_WINDOW))
        day_start = self._day_start(now)
        announcements = await announcements_since(self.db, day_start)
        plans = []
        for subscriber in subscribers:
            state = states.get(subscriber.id)
            wanted = matcher.select(subscriber, self._since(state, now), state.keywords if state else ())
            done = await delivered_item_ids(self.db, subscriber.id, [i.id for i in wanted])
            items = tuple(i for i in wanted if i.id not in done)
            notices = tuple(a for a in announcements if a.is_for(subscriber.id))
            plans.append(DigestPlan(subscriber, items, notices, self._message(items, notices, now)))
        return plans

    async def queue(self, plans: Sequence[DigestPlan], *, once_per_day: bool) -> list[DigestPlan]:
        """Write outbox and ledger rows together; with once_per_day, skip subscribers already done today."""
        now = self.clock()
        day = self.local_day(now)
        queued = []
        for start in range(0, len(plans), _BATCH):
            async with self.db.transaction() as conn:
                for plan in plans[start : start + _BATCH]:
                    claimed = await claim_digest_day(conn, plan.subscriber.id, day, len(plan.items), now)
                    if (once_per_day and not claimed) or plan.message is None:
                        continue
                    sub = plan.subscriber
                    ids = await add_messages(
                        conn, sub.id, "digest", sub.platform, self.render(sub, plan), now
                    )
                    await add_deliveries(conn, sub.id, [i.id for i in plan.items], "digest", ids[0], now)
                    queued.append(plan)
        for plan in queued:
            log.info("digest queued subscriber_id=%s items=%d shown=%d", plan.subscriber.id, len(plan.items),
                     plan.shown)  # fmt: skip
        return queued

    def render(self, subscriber: SubscriberConfig, plan: DigestPlan) -> list[str]:
        """Render for the subscriber's platform; identical digests are rendered once."""
        assert plan.message is not None
        key = (subscriber.platform, subscriber.format, tuple(i.id for i in plan.items[:DIGEST_CAP]),
               len(plan.items), tuple(a.id for a in plan.announcements))  # fmt: skip
        cached = self._rendered.get(key)
        if cached is None:
            cached = self._rendered[key] = render_message(subscriber, plan.message, self.config.bot.timezone)
        return cached

    def _since(self, state: SubscriberState | None, now: datetime) -> datetime:
        last = state.last_digest_at if state else None
        return max(last or now - FIRST_WINDOW, now - MAX_WINDOW)

    def _day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.config.bot.timezone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)

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


def due_subscribers(
    config: Config, now: datetime, *, grace: timedelta, done: Mapping[str, object]
) -> list[str]:
    """Return subscribers whose digest time today has passed within `grace` and who have none today yet."""
    local = now.astimezone(config.bot.timezone)
    due = []
    for subscriber in config.subscribers:
        if subscriber.digest is None or subscriber.id in done:
            continue
        at = local.replace(
            hour=subscriber.digest.hour, minute=subscriber.digest.minute, second=0, microsecond=0
        )
        if timedelta(0) <= local - at <= grace:
            due.append(subscriber.id)
    return due
