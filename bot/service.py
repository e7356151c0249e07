"""The running service's work, one method per scheduled job, all on an injectable clock."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.config.types import Config, SourceConfig
from bot.delivery.digest import DigestBuilder, DigestPlan, due_subscribers
from bot.delivery.instant import push_instant
from bot.delivery.worker import Deliverer
from bot.metrics import Metrics
from bot.pipeline import Poller, PollResult
from bot.platforms import console
from feeds.fetch import Fetcher
from handlers.context import ServiceStatus
from storage.db import Database
from storage.deliveries import digest_days
from storage.maintenance import Housekeeping, run_housekeeping
from storage.outbox import outbox_totals
from storage.sources import (
    all_sources,
    next_poll_time,
    schedule_polls,
    source_health_counts,
    sources_due,
    sync_sources,
)
from storage.subscribers import subscriber_summary, sync_subscribers

log = logging.getLogger(__name__)

DIGEST_GRACE = timedelta(hours=3)  # a digest missed while the service was down is sent this late at most
FIRST_POLL_SPREAD = timedelta(minutes=10)  # never-polled or overdue sources start within this window
OUTBOX_KEEP = timedelta(days=30)
DIGEST_DAYS_KEEP = timedelta(days=90)


class Service:
    """Polls, digests, instant pushes and housekeeping over one database, poller and deliverer."""

    def __init__(
        self,
        config: Config,
        db: Database,
        poller: Poller,
        deliverer: Deliverer,
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.config, self.db, self.poller, self.deliverer, self.metrics = (
            config,
            db,
            poller,
            deliverer,
            metrics,
        )
        self.clock = clock
        self.rng = rng or random.Random()
        self.last_poll_at: datetime | None = None
        self.running: set[asyncio.Task] = set()  # scheduled jobs in progress, awaited on shutdown

    async def start(self) -> None:
        """Recover the outbox, spread the first polls, and send a digest missed while stopped."""
        if not await self.deliverer.take_over():
            log.warning("another parkbot process is sending the outbox; this one takes over when it stops")
        await self.spread_polls()
        await self.push_instant()  # items a crash stored but never pushed
        await self.catch_up_digests()

    async def apply_config(self, config: Config, fetcher: Fetcher) -> str:
        """Switch to a reloaded, validated configuration; return a one-line summary of what changed."""
        old_sources, old_subscribers = (
            {s.id for s in self.config.sources},
            {s.id for s in self.config.subscribers},
        )
        now = self.clock()
        await sync_sources(self.db, [(s.id, s.url) for s in config.sources], now)
        await sync_subscribers(self.db, [s.id for s in config.subscribers], now)
        self.config = config
        self.poller.reconfigure(fetcher, config.polling, config.bot.timezone)
        self.deliverer.reconfigure(config)
        await self.spread_polls()  # new sources start within the next few minutes
        sources, subscribers = {s.id for s in config.sources}, {s.id for s in config.subscribers}
        return (
            f"sources={len(sources)} added={','.join(sorted(sources - old_sources)) or '-'}"
            f" removed={','.join(sorted(old_sources - sources)) or '-'} subscribers={len(subscribers)}"
            f" added={','.join(sorted(subscribers - old_subscribers)) or '-'}"
            f" removed={','.join(sorted(old_subscribers - subscribers)) or '-'}"
        )

    async def spread_polls(self) -> None:
        """Give never-polled and overdue sources start times spread over the next few minutes."""
        now = self.clock()
        overdue = await sources_due(self.db, now)
        enabled = {s.id for s in self.config.sources if s.enabled}
        ids = [i for i in overdue if i in enabled]
        step = FIRST_POLL_SPREAD / max(len(ids), 1)
        await schedule_polls(self.db, [(sid, now + step * n) for n, sid in enumerate(ids)])

    async def poll_due(self) -> list[PollResult]:
        """Poll every enabled source whose time has come (see poll_sources)."""
        now = self.clock()
        due = set(await sources_due(self.db, now))
        sources = [s for s in self.config.sources if s.enabled and s.id in due]
        results = await self.poll_sources(sources) if sources else []
        self.last_poll_at = now
        return results

    async def next_poll_at(self) -> datetime | None:
        """When the soonest enabled source is due (None: no enabled source)."""
        return await next_poll_time(self.db, [s.id for s in self.config.sources if s.enabled])

    async def poll_sources(
        self, sources: Sequence[SourceConfig], *, on_done: Callable[[PollResult], None] | None = None
    ) -> list[PollResult]:
        """Poll these sources now, count them, queue staff alerts and instant pushes: the one path of
        the scheduled job and `parkbot poll`."""
        results = await self.poller.poll_all(sources, on_done=on_done)
        for result in results:
            self.metrics.poll(result.source_id, result.status)
            self.metrics.new_items(result.source_id, len(result.new))
            for text in result.alerts:
                await self.deliverer.alert_staff(text)
        await self.push_instant()
        return results

    async def push_instant(self) -> dict[str, int]:
        """Queue instant pushes of whatever was stored since each subscriber's last one."""
        pushed = await push_instant(self.db, self.config, self.clock())
        if pushed:
            self.deliverer.wakeup.set()
        return pushed

    async def send_digests(
        self, subscriber_ids: Sequence[str] | None = None, *, scheduled: bool
    ) -> list[DigestPlan]:
        """Build and queue digests (all subscribers with a digest time when ids is None)."""
        if subscriber_ids is None:
            chosen = [s for s in self.config.subscribers if s.digest is not None]
        else:
            chosen = [s for s in self.config.subscribers if s.id in subscriber_ids]
        builder = DigestBuilder(self.db, self.config, self.clock)
        queued = await builder.queue(await builder.plan(chosen), once_per_day=scheduled)
        for plan in queued:
            self.metrics.digest(plan.subscriber.id, len(plan.items))
        if queued:
            self.deliverer.wakeup.set()
        return queued

    async def catch_up_digests(self) -> list[DigestPlan]:
        """Send, once, today's digests whose time passed while the service was down (within the grace)."""
        now = self.clock()
        due = due_subscribers(self.config, now, grace=DIGEST_GRACE)
        done = {(sid, day) for day in set(due.values()) for sid in await digest_days(self.db, day)}
        missed = [sid for sid, day in due.items() if (sid, day) not in done]
        if not missed:
            return []
        log.info("sending missed digests subscribers=%s", ",".join(missed))
        return await self.send_digests(missed, scheduled=True)

    async def maintenance(self) -> Housekeeping:
        """Daily: remove items past retention (uids stay), prune the outbox and digest days, optimize."""
        now = self.clock()
        old_day = (now - DIGEST_DAYS_KEEP).astimezone(self.config.bot.timezone).date().isoformat()
        done = await run_housekeeping(
            self.db, items_before=now - self.config.bot.retention, outbox_before=now - OUTBOX_KEEP,
            digests_before=old_day,
        )  # fmt: skip
        log.info("maintenance items=%d ledger=%d outbox=%d digests=%d", done.items, done.ledger, done.outbox,
                 done.digests)  # fmt: skip
        return done

    async def refresh_gauges(self) -> None:
        """Update the gauges that /metrics reads: outbox size and failing sources."""
        self.metrics.outbox(*await outbox_totals(self.db))
        for source in await all_sources(self.db):
            self.metrics.source_failing(source.id, source.error_count > 0)

    async def service_status(self) -> ServiceStatus:
        """The health summary that chat's 状态 and /healthz show (handlers.context.StatusSource), in a
        few aggregate queries that do not grow with the data."""
        enabled = [s.id for s in self.config.sources if s.enabled]
        health = await source_health_counts(self.db, enabled)
        waiting, dead = await outbox_totals(self.db)
        failing_subscribers, last_digest = await subscriber_summary(self.db)
        return ServiceStatus(
            sources=len(enabled),
            sources_failing=health["failing"],
            outbox_pending=waiting,
            outbox_dead=dead,
            last_poll=self.last_poll_at,
            last_digest=last_digest,
            source_health=health,
            subscribers=len(self.config.subscribers),
            subscribers_failing=failing_subscribers,
        )

    async def preview_digest(self, subscriber_id: str) -> str | None:
        """Today's digest for a subscriber as plain text, queueing nothing (handlers.context.DigestPreviewer).

        Raises KeyError for a subscriber that is not in the configuration.
        """
        subscriber = {s.id: s for s in self.config.subscribers}[subscriber_id]
        (plan,) = await DigestBuilder(self.db, self.config, self.clock).plan([subscriber])
        if plan.message is None:
            return None
        return "\n".join(p["text"] for p in console.render(plan.message, self.config.bot.timezone))
