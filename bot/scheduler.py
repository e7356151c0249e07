"""The scheduler: one interval job asking storage which sources are due, cron jobs for digests and upkeep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.service import DIGEST_GRACE, Service
from storage.errors import WriteFailed

log = logging.getLogger(__name__)

# The poll job wakes when the soonest source is due, so every interval is honoured to the second;
# it also looks at least this often, in case sources were rescheduled by another process.
POLL_AT_LEAST_EVERY = timedelta(seconds=60)
POLL_JOB = "poll_due_sources"
MAINTENANCE_AT = (3, 30)  # local time: quiet hours for the association's members


async def poll_due_sources(service: Service, scheduler: AsyncIOScheduler) -> None:
    """Job: poll the sources whose time has come, then sleep until the next one is due."""
    try:
        await service.poll_due()
    finally:
        await wake_for_next_poll(service, scheduler)


async def wake_for_next_poll(service: Service, scheduler: AsyncIOScheduler) -> None:
    """Move the poll job's next run to when the soonest source is due (at least once a minute)."""
    now = service.clock()
    due = await service.next_poll_at()
    wake = now + POLL_AT_LEAST_EVERY if due is None else min(max(due, now), now + POLL_AT_LEAST_EVERY)
    scheduler.modify_job(POLL_JOB, next_run_time=wake)


async def send_scheduled_digests(service: Service, subscriber_ids: Sequence[str]) -> None:
    """Job: build and queue these subscribers' digests, once per day."""
    await service.send_digests(subscriber_ids, scheduled=True)


async def run_maintenance(service: Service) -> None:
    """Job: daily housekeeping."""
    await service.maintenance()


def logged(name: str, job: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Wrap a job so an exception is logged with the job's name and never escapes silently."""

    async def run(service: Service, *args: object) -> None:
        task = asyncio.current_task()
        if task is not None:
            service.running.add(task)
        try:
            await job(service, *args)
        except WriteFailed as exc:  # the database refuses writes: say so once, without a traceback
            log.error("job failed job=%s error=%s", name, exc)
        except Exception:  # the job wrapper is one of the two broad excepts; it logs
            log.exception("job failed job=%s", name)
        finally:
            service.running.discard(task)

    run.__name__ = run.__qualname__ = name
    return run


def build_scheduler(service: Service) -> AsyncIOScheduler:
    """Return the scheduler with every job registered (not started), in [bot].timezone."""
    tz = service.config.bot.timezone
    scheduler = AsyncIOScheduler(timezone=tz)
    # A poll tick that finds the previous one still running is skipped, not queued behind it.
    scheduler.add_job(
        logged("poll_due_sources", poll_due_sources),
        IntervalTrigger(seconds=int(POLL_AT_LEAST_EVERY.total_seconds()), timezone=tz),
        args=[service, scheduler], id=POLL_JOB, max_instances=1, coalesce=True, misfire_grace_time=30,
        next_run_time=service.clock(),  # at once: start-up spread the first polls over ten minutes
    )  # fmt: skip
    schedule_digests(scheduler, service)
    hour, minute = MAINTENANCE_AT
    scheduler.add_job(
        logged("run_maintenance", run_maintenance), CronTrigger(hour=hour, minute=minute, timezone=tz),
        args=[service], id="maintenance", max_instances=1, coalesce=True, misfire_grace_time=3600,
    )  # fmt: skip
    return scheduler


def schedule_digests(scheduler: AsyncIOScheduler, service: Service) -> None:
    """(Re)register one cron job per distinct digest time of the service's configuration."""
    tz = service.config.bot.timezone
    for job in scheduler.get_jobs():
        if job.id.startswith("digest-"):
            job.remove()
    for (hour, minute), ids in digest_times(service).items():
        # APScheduler 3's default misfire grace is 1 s: a busy loop at 08:30 would drop the digest.
        scheduler.add_job(
            logged("send_scheduled_digests", send_scheduled_digests),
            CronTrigger(hour=hour, minute=minute, timezone=tz),
            args=[service, ids], id=f"digest-{hour:02d}{minute:02d}", max_instances=1, coalesce=True,
            misfire_grace_time=int(DIGEST_GRACE.total_seconds()),
        )  # fmt: skip


def digest_times(service: Service) -> dict[tuple[int, int], list[str]]:
    """Group subscribers by their digest time (hour, minute)."""
    by_time: dict[tuple[int, int], list[str]] = {}
    for subscriber in service.config.subscribers:
        if subscriber.digest is not None:
            by_time.setdefault((subscriber.digest.hour, subscriber.digest.minute), []).append(subscriber.id)
    return dict(sorted(by_time.items()))
