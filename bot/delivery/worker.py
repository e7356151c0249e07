"""Delivery: every message goes through the outbox, then out within each robot's rate limit, with retries."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo

import aiohttp

from bot.config.types import Config, SubscriberConfig
from bot.delivery.ratelimit import RateLimiters, Slot
from bot.metrics import Metrics
from bot.platforms import PLATFORMS
from bot.platforms.base import Platform
from bot.platforms.errors import PushError
from bot.platforms.message import Message
from bot.redact import RedactingFilter
from handlers import messages
from storage.alerts import raise_alert, subscriber_failing_key
from storage.db import Database
from storage.errors import WriteFailed
from storage.outbox import (
    OutboxMessage,
    due_messages,
    enqueue_messages,
    mark_dead,
    mark_retry,
    mark_sending,
    mark_sent,
    requeue_in_flight,
    sends_since,
)
from storage.sender_lock import SenderLock
from storage.subscribers import mark_subscriber_failing

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
SEND_TIMEOUT = 15.0
MAX_BROKEN_ATTEMPTS = 3  # failures of our own (not the platform's answer) before a message is given up
DUE_PAGE = 20_000


def retry_delay(attempts: int, rng: random.Random) -> timedelta:
    """Return the wait before the next try: 30 s doubling to 1 h, with ±20% jitter."""
    base = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)
    return base * rng.uniform(0.8, 1.2)


def render_message(subscriber: SubscriberConfig, message: Message, tz: tzinfo) -> list[str]:
    """Render a message for the subscriber's platform; payloads as the JSON the outbox stores."""
    module = PLATFORMS[subscriber.platform]
    payloads = module.render(message, tz, style=subscriber.format)
    return [json.dumps(p, ensure_ascii=False) for p in payloads]


class Deliverer:
    """Writes messages to the outbox and drains it: in order per subscriber, within rate limits."""

    def __init__(
        self,
        db: Database,
        session: aiohttp.ClientSession,
        subscribers: Mapping[str, SubscriberConfig],
        tz: tzinfo,
        *,
        staff_alerts: str | None = None,
        redactor: RedactingFilter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        concurrency: int = 50,
        metrics: Metrics | None = None,
        lock: SenderLock | None = None,
    ) -> None:
        self.db, self.session, self.subscribers, self.tz = db, session, dict(subscribers), tz
        self.staff_alerts = staff_alerts
        self.redactor = redactor or RedactingFilter(())
        self.clock = clock
        self.rng = rng or random.Random()
        self.limiters = RateLimiters()
        self._gate = asyncio.Semaphore(concurrency)
        self._in_flight: set[int] = set()  # a message being sent is still its subscriber's due head
        self.wakeup = asyncio.Event()  # set when something was queued, so the worker looks at once
        self.metrics = metrics or Metrics()
        # Exactly one process drains the outbox; without a lock (tests) this one always does.
        self.lock = lock
        self.sending = lock is None

    def reconfigure(self, config: Config) -> None:
        """Use a reloaded configuration's subscribers, time zone, staff subscriber and secrets."""
        self.subscribers = {s.id: s for s in config.subscribers}
        self.tz = config.bot.timezone
        self.staff_alerts = config.bot.staff_alerts
        self.redactor = RedactingFilter(config.secrets())

    async def enqueue(self, subscriber: SubscriberConfig, message: Message) -> list[int]:
        """Render the message and write it to the outbox; nothing is sent before it is stored."""
        payloads = render_message(subscriber, message, self.tz)
        ids = await enqueue_messages(
            self.db, subscriber.id, message.kind, subscriber.platform, payloads, self.clock()
        )
        self.wakeup.set()
        return ids

    async def run(self, stop: asyncio.Event, *, idle: float = 30.0) -> None:
        """Drain the outbox until stop is set: send what is due, then sleep until more may be due.
        While another process sends, look again every `idle` seconds and take over when it stops."""
        while not stop.is_set():
            self.wakeup.clear()
            try:
                if await self.take_over() and await self.deliver_due():
                    continue
                wake = await self.next_wake()
            except WriteFailed as exc:
                log.error("delivery pass failed error=%s", exc)
                wake = None
            except Exception:  # the worker's one broad except: log, wait, go on
                log.exception("delivery pass failed")
                wake = None
            delay = idle if wake is None else min(max((wake - self.clock()).total_seconds(), 0.05), idle)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wakeup.wait())]
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def alert_staff(self, text: str) -> None:
        """Queue an operational alert to the staff subscriber, if one is configured."""
        staff = self.subscribers.get(self.staff_alerts or "")
        if staff is None:
            log.warning("staff alert (no staff_alerts subscriber): %s", self.redactor.redact(text))
            return
        await self.enqueue(staff, Message("alert", "parkbot 告警", text=text))

    async def take_over(self) -> bool:
        """Become the process that sends, unless another one is (the service, or a CLI command beside
        it). On taking over, requeue what was in flight when the last sender stopped and restore the
        robots' rate limits. Return whether this process sends."""
        if self.sending:
            return True
        if self.lock is not None and not self.lock.acquire():
            return False
        self.sending = True
        requeued = await self.recover()
        log.info("this process sends the outbox requeued=%d", requeued)
        return True

    def release(self) -> None:
        """Stop sending and let another process take over."""
        if self.lock is not None:
            self.lock.release()
            self.sending = False

    async def recover(self) -> int:
        """At start-up: requeue messages that were in flight when the process stopped (at least once)
        and count recent sends so rate limits hold across the restart; return how many were requeued."""
        requeued = await requeue_in_flight(self.db)
        await self.restore_rate_limits()
        return requeued

    async def restore_rate_limits(self) -> None:
        """Count the sends of the last hour so the limits hold across a restart."""
        now = self.clock()
        recent: dict[str, list[datetime]] = {}
        for subscriber_id, sent_at in await sends_since(self.db, now - timedelta(hours=1)):
            recent.setdefault(subscriber_id, []).append(sent_at)
        for subscriber_id, times in recent.items():
            subscriber = self.subscribers.get(subscriber_id)
            if subscriber is not None:
                self.limiters.seed(*self._robot(subscriber), times)

    async def deliver_due(self) -> int:
        """Send each subscriber's next due message whose robot is free now; return how many went out."""
        if not self.sending:
            return 0
        now = self.clock()
        sends = []
        # every due head at once: a page of rate-limited robots must not hide the free ones behind it
        for message in await due_messages(self.db, now, limit=DUE_PAGE):
            subscriber = self.subscribers.get(message.subscriber_id)
            if subscriber is None or message.id in self._in_flight:
                continue  # removed from config: its messages wait until it comes back
            limiter = self.limiters.get(*self._robot(subscriber))
            if limiter.next_free(now) > now:
                continue
            sends.append(self._send(subscriber, message, limiter.record(now)))
        results = await asyncio.gather(*sends)
        return sum(results)

    async def next_wake(self) -> datetime | None:
        """Return when deliver_due may next have work (earliest due message or free robot)."""
        if not self.sending:
            return None
        now = self.clock()
        times = []
        for message in await due_messages(self.db, now + timedelta(days=1)):
            subscriber = self.subscribers.get(message.subscriber_id)
            if subscriber is not None:
                free = self.limiters.get(*self._robot(subscriber)).next_free(now)
                times.append(max(message.next_attempt_at, free))
        return min(times, default=None)

    def _robot(self, subscriber: SubscriberConfig) -> tuple[str, tuple]:
        limits = (
            (subscriber.rate_limit,) if subscriber.rate_limit else PLATFORMS[subscriber.platform].RATE_LIMITS
        )
        return subscriber.webhook.reveal(), limits

    async def _send(self, subscriber: SubscriberConfig, message: OutboxMessage, slot: Slot) -> bool:
        module = PLATFORMS[subscriber.platform]
        self._in_flight.add(message.id)
        try:
            async with self._gate:
                # A send may have waited for the gate: count it, sign it and age it as of now.
                now = self.clock()
                slot.stamp(now)
                try:
                    return await self._attempt(module, subscriber, message, now)
                except Exception as exc:  # the worker's other broad except: a poison message must not
                    await self._broken(message, exc, now)  # hold its subscriber's queue forever
                    return False
        finally:
            self._in_flight.discard(message.id)

    async def _attempt(
        self, module: Platform, subscriber: SubscriberConfig, message: OutboxMessage, now: datetime
    ) -> bool:
        await mark_sending(self.db, message.id, now)
        try:
            await module.send(
                self.session,
                subscriber.webhook.reveal(),
                json.loads(message.payload),
                secret=subscriber.secret.reveal(),
                now=now,
                timeout=SEND_TIMEOUT,
            )
        except PushError as exc:
            await self._failed(subscriber, message, exc, self.clock())
            return False
        await mark_sent(self.db, message.id, self.clock())
        self.metrics.delivery(subscriber.platform, "sent")
        log.info("sent subscriber_id=%s message_id=%d kind=%s part=%d/%d", subscriber.id, message.id,
                 message.kind, message.part, message.parts)  # fmt: skip
        return True

    async def _broken(self, message: OutboxMessage, exc: Exception, now: datetime) -> None:
        """Anything but a platform's answer failed (a bad payload, a locked database): retry a few times,
        then give the message up so the rest of the subscriber's queue goes on."""
        error = self.redactor.redact(f"internal error: {exc!r}")
        log.exception("send crashed subscriber_id=%s message_id=%d", message.subscriber_id, message.id)
        attempts = message.attempts + 1
        try:
            if attempts >= MAX_BROKEN_ATTEMPTS or now - message.created_at >= GIVE_UP_AFTER:
                self.metrics.delivery(message.platform, "dead")
                await mark_dead(self.db, message.id, error)
            else:
                await mark_retry(self.db, message.id, error, now + retry_delay(attempts, self.rng))
        except (sqlite3.Error, ValueError):  # the database itself is failing: the message stays due
            log.exception("cannot record a failed send message_id=%d", message.id)

    async def _failed(
        self, subscriber: SubscriberConfig, message: OutboxMessage, exc: PushError, now: datetime
    ) -> None:
        error = self.redactor.redact(str(exc))
        log.warning(
            "send failed subscriber_id=%s message_id=%d permanent=%s error=%s",
            subscriber.id,
            message.id,
            exc.permanent,
            error,
        )
        if exc.permanent:
            self.metrics.delivery(subscriber.platform, "dead")
            await mark_dead(self.db, message.id, error)
            await self._subscriber_failing(subscriber, error, now)
        elif now - message.created_at >= GIVE_UP_AFTER:
            self.metrics.delivery(subscriber.platform, "dead")
            await mark_dead(self.db, message.id, f"gave up after 24 h: {error}")
        else:
            self.metrics.delivery(subscriber.platform, "retry")
            wait = max(retry_delay(message.attempts + 1, self.rng), exc.retry_after or timedelta(0))
            if exc.retry_after:  # the platform penalised the robot: nothing else goes to it either
                self.limiters.get(*self._robot(subscriber)).lock(now + exc.retry_after)
            await mark_retry(self.db, message.id, error, now + wait)

    async def _subscriber_failing(self, subscriber: SubscriberConfig, error: str, now: datetime) -> None:
        if not await mark_subscriber_failing(self.db, subscriber.id, error, now):
            return
        text = messages.subscriber_failing(subscriber.name, error)
        if await raise_alert(self.db, subscriber_failing_key(subscriber.id), text, now) and (
            subscriber.id != self.staff_alerts
        ):
            await self.alert_staff(text)


def build_deliverer(
    db: Database,
    session: aiohttp.ClientSession,
    config: Config,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    metrics: Metrics | None = None,
) -> Deliverer:
    """Return the deliverer for a configuration: every subscriber, staff alerts, secrets redacted."""
    return Deliverer(
        db,
        session,
        {s.id: s for s in config.subscribers},
        config.bot.timezone,
        staff_alerts=config.bot.staff_alerts,
        redactor=RedactingFilter(config.secrets()),
        clock=clock,
        metrics=metrics,
        lock=SenderLock(config.bot.database),
    )
