"""The delivery contract, run against each fake robot: limits, signatures, retries, dead ends, restarts."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.config.types import SubscriberConfig
from bot.delivery.worker import Deliverer
from bot.platforms.message import Entry, Message
from bot.redact import RedactingFilter, Secret
from storage.alerts import open_alerts
from storage.db import connect
from storage.outbox import dead_messages, enqueue_messages, mark_sending, outbox_counts, retry_dead
from storage.sender_lock import SenderLock
from storage.subscribers import all_subscribers, sync_subscribers
from tests.fakes.chat_platforms import FakeDingTalk, FakeFeishu, FakeWeCom, ManualClock, max_in_window

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"


@dataclass(frozen=True)
class Platform:
    """How to drive one platform's fake in the contract suite."""

    name: str
    fake: type
    secret: str
    transient: int
    permanent: int
    windows: tuple[tuple[int, float], ...]  # (count, seconds) limits the sender must respect


PLATFORMS = [
    Platform("wecom", FakeWeCom, "", -1, 93000, ((20, 60),)),
    Platform("dingtalk", FakeDingTalk, "SEC0123456789abcdef", -1, 310000, ((20, 60),)),
    Platform("feishu", FakeFeishu, "feishu-signing-secret", 11232, 19001, ((5, 1), (100, 60))),
]


def subscriber(sid: str, platform: str, webhook: str, secret: str = "") -> SubscriberConfig:
    """A subscriber built directly, as the design asks of tests."""
    return SubscriberConfig(
        id=sid, name=f"{sid}群", platform=platform, webhook=Secret(webhook), secret=Secret(secret),
        digest=None, instant=False, sources=("*",), include=(), exclude=(), chat_id="", rate_limit=None,
    )  # fmt: skip


def digest(count: int) -> Message:
    """A digest of Chinese items, long enough to need several parts when count is large."""
    entries = tuple(
        Entry(f"永州经开区扎实推进“五好”园区创建 重点项目第{n}批集中签约", f"http://hnkfq.com.cn/news/info_itemid_{n}.html",
              "湖南开发区网·园区快讯", START - timedelta(hours=n))
        for n in range(count)
    )  # fmt: skip
    return Message("digest", "园区快讯 · 11月30日", entries=entries)


class Rig:
    """A database, one fake robot, the member subscriber, a console staff subscriber and a deliverer."""

    def __init__(self, db, platform: Platform, fake, server, session, clock, staff_log) -> None:
        self.db, self.platform, self.fake, self.clock = db, platform, fake, clock
        self.member = subscriber("members", platform.name, fake.url(server, KEY), platform.secret)
        self.staff = subscriber("staff", "console", str(staff_log))
        self.staff_log = staff_log
        secrets = [KEY, platform.secret] if platform.secret else [KEY]
        self.deliverer = Deliverer(
            db, session, {"members": self.member, "staff": self.staff}, TZ, staff_alerts="staff",
            redactor=RedactingFilter(secrets), clock=clock, rng=random.Random(7),
        )  # fmt: skip

    async def drain(self, max_rounds: int = 500) -> None:
        """Deliver until nothing is left, jumping the clock to each next possible send."""
        for _ in range(max_rounds):
            await self.deliverer.deliver_due()
            wake = await self.deliverer.next_wake()
            if wake is None:
                return
            self.clock.now = max(self.clock.now, wake)
        raise AssertionError("outbox did not drain")

    def accepted(self) -> list[dict]:
        return self.fake.received_by(KEY)


@pytest.fixture(params=PLATFORMS, ids=lambda p: p.name)
async def rig(request, db, aiohttp_server, tmp_path):
    platform: Platform = request.param
    clock = ManualClock(START)
    fake = platform.fake(clock=clock)
    fake.add_robot(KEY, secret=platform.secret or None)
    server = await aiohttp_server(fake.app())
    await sync_subscribers(db, ["members", "staff"], START)
    async with aiohttp.ClientSession() as session:
        yield Rig(db, platform, fake, server, session, clock, tmp_path / "staff.log")


async def test_long_digest_arrives_in_order_within_limits(rig):
    ids = await rig.deliverer.enqueue(rig.member, digest(150))
    assert len(ids) > 1
    await rig.drain()
    received = rig.accepted()
    assert len(received) == len(ids)
    text = [str(body) for body in received]
    assert [f"({n}/{len(ids)})" in t for n, t in enumerate(text, 1)] == [True] * len(ids)
    assert all(a["code"] == 0 for a in rig.fake.attempts)  # signatures and sizes accepted every time


async def test_rate_limits_are_never_exceeded(rig):
    for n in range(45):
        await rig.deliverer.enqueue(rig.member, Message("reply", f"第{n}条回复", text="五好园区"))
    await rig.drain()
    assert len(rig.accepted()) == 45
    times = rig.fake.accepted_times(KEY)
    for count, seconds in rig.platform.windows:
        assert max_in_window(times, timedelta(seconds=seconds)) <= count
    assert {a["code"] for a in rig.fake.attempts} == {0}


async def test_transient_errors_are_retried_to_success(rig):
    rig.fake.fail_next(KEY, 2, rig.platform.transient)
    await rig.deliverer.enqueue(rig.member, digest(3))
    await rig.deliverer.deliver_due()
    assert rig.accepted() == []
    [counts] = await outbox_counts(rig.db)
    assert counts.pending == 1 and counts.oldest_pending_at == START
    await rig.drain()
    assert len(rig.accepted()) == 1
    first, second, third = (a["time"] for a in rig.fake.attempts)
    assert second - first >= timedelta(seconds=24) and third - second >= timedelta(seconds=48)  # backoff


async def test_permanent_error_kills_the_message_marks_the_subscriber_and_alerts_once(rig):
    rig.fake.fail_next(KEY, 1, rig.platform.permanent)
    await rig.deliverer.enqueue(rig.member, digest(2))
    await rig.deliverer.enqueue(rig.member, digest(1))
    await rig.drain()
    [dead] = await dead_messages(rig.db)
    assert str(rig.platform.permanent) in dead.last_error
    states = {s.id: s for s in await all_subscribers(rig.db)}
    assert states["members"].health == "failing"
    assert len(rig.fake.attempts) == 1  # nothing more was sent to a failing robot
    assert [a.key for a in await open_alerts(rig.db)] == ["subscriber-failing:members"]
    assert rig.staff_log.read_text(encoding="utf-8").count("parkbot outbox --retry-dead") == 1


async def test_outbox_survives_a_restart_mid_send(rig, tmp_path):
    [message_id] = await rig.deliverer.enqueue(rig.member, digest(2))
    await mark_sending(rig.db, message_id, START)  # the process died during this send
    await rig.db.close()
    rig.db = await connect(rig.db.path)
    rig.deliverer.db = rig.db
    assert await rig.deliverer.recover() == 1
    try:
        await rig.drain()
    finally:
        await rig.db.close()
    assert len(rig.accepted()) == 1


async def test_secrets_never_reach_logs_or_stored_errors(rig, caplog):
    caplog.set_level(logging.DEBUG)
    rig.fake.fail_next(KEY, 1, rig.platform.transient)
    await rig.deliverer.enqueue(rig.member, digest(2))
    await rig.drain()
    rig.fake.fail_next(KEY, 1, rig.platform.permanent)
    await rig.deliverer.enqueue(rig.member, digest(1))
    await rig.drain()
    # the fake robot's own access log (the receiving side) is not ours to judge
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    stored = [s.failing_reason or "" for s in await all_subscribers(rig.db)]
    stored += [m.last_error or "" for m in await dead_messages(rig.db)]
    stored.append(rig.staff_log.read_text(encoding="utf-8"))
    for secret in filter(None, [KEY, rig.platform.secret]):
        assert secret not in ours
        assert all(secret not in text for text in stored)


async def test_gives_up_after_a_day_of_transient_failures(rig):
    rig.fake.fail_next(KEY, 1000, rig.platform.transient)
    await rig.deliverer.enqueue(rig.member, digest(1))
    await rig.drain()
    [dead] = await dead_messages(rig.db)
    assert dead.last_error.startswith("gave up after 24 h")
    assert rig.clock.now - START >= timedelta(hours=24)
    assert len(rig.fake.attempts) < 40  # backoff, not hammering
    assert {s.id: s.health for s in await all_subscribers(rig.db)}["members"] == "ok"


async def test_dingtalk_rate_lock_is_waited_out(db, aiohttp_server, tmp_path):
    platform = PLATFORMS[1]
    clock = ManualClock(START)
    fake = FakeDingTalk(clock=clock)
    fake.add_robot(KEY, secret=platform.secret)
    server = await aiohttp_server(fake.app())
    await sync_subscribers(db, ["members", "staff"], START)
    async with aiohttp.ClientSession() as session:
        rig = Rig(db, platform, fake, server, session, clock, tmp_path / "staff.log")
        fake.fail_next(KEY, 1, 410100, msg="send too fast")
        for n in range(3):
            await rig.deliverer.enqueue(rig.member, Message("reply", f"回复{n}", text="五好园区"))
        await rig.drain()
    times = [a["time"] for a in fake.attempts]
    assert len(fake.received_by(KEY)) == 3
    assert times[1] - times[0] >= timedelta(minutes=10)  # nothing during the lock


async def test_signed_webhook_subscriber(db, aiohttp_server, tmp_path):
    from tests.fakes.chat_platforms import FakeWebhookReceiver

    clock = ManualClock(START)
    fake = FakeWebhookReceiver(clock=clock, secret="hook-secret")
    server = await aiohttp_server(fake.app())
    await sync_subscribers(db, ["hook"], START)
    hook = subscriber("hook", "webhook", fake.url(server), "hook-secret")
    async with aiohttp.ClientSession() as session:
        deliverer = Deliverer(db, session, {"hook": hook}, TZ, clock=clock, rng=random.Random(1))
        fake.fail_next(1, 503)
        await deliverer.enqueue(hook, digest(2))
        await deliverer.deliver_due()
        assert fake.received == []
        while (wake := await deliverer.next_wake()) is not None:
            clock.now = max(clock.now, wake)
            await deliverer.deliver_due()
    [body] = fake.received
    assert body["kind"] == "digest" and len(body["items"]) == 2
    assert fake.attempts[1]["time"] - fake.attempts[0]["time"] >= timedelta(seconds=30)  # its Retry-After


async def test_rate_limits_hold_across_a_restart(rig):
    for n in range(25):
        await rig.deliverer.enqueue(rig.member, Message("reply", f"第{n}条", text="五好园区"))
    for _ in range(30):
        await rig.deliverer.deliver_due()
    sent_before = len(rig.accepted())
    restarted = Deliverer(rig.db, rig.deliverer.session, rig.deliverer.subscribers, TZ, clock=rig.clock)
    await restarted.recover()
    rig.deliverer = restarted
    await rig.drain()
    assert sent_before < 25 and len(rig.accepted()) == 25
    assert {a["code"] for a in rig.fake.attempts} == {0}  # the new process never tripped the limit
    times = rig.fake.accepted_times(KEY)
    for count, seconds in rig.platform.windows:
        assert max_in_window(times, timedelta(seconds=seconds)) <= count


async def test_a_poison_message_is_given_up_and_the_queue_goes_on(rig, caplog):
    caplog.set_level(logging.CRITICAL, logger="bot.delivery.worker")  # the tracebacks are expected
    await enqueue_messages(rig.db, "members", "reply", rig.platform.name, ["{not json"], START)
    await rig.deliverer.enqueue(rig.member, Message("reply", "第二条", text="五好园区"))
    await rig.drain()
    [dead] = await dead_messages(rig.db)
    assert dead.last_error.startswith("internal error: JSONDecodeError")
    assert len(rig.accepted()) == 1  # the message behind it went out
    assert {s.id: s.health for s in await all_subscribers(rig.db)}["members"] == "ok"


async def test_a_robot_that_fails_again_after_a_fix_alerts_staff_again(rig):
    rig.fake.fail_next(KEY, 1, rig.platform.permanent)
    await rig.deliverer.enqueue(rig.member, digest(1))
    await rig.drain()
    assert [a.key for a in await open_alerts(rig.db)] == ["subscriber-failing:members"]
    assert await retry_dead(rig.db, rig.clock.now) == 1  # the operator "fixed the key"...
    assert await open_alerts(rig.db) == []
    rig.fake.fail_next(KEY, 1, rig.platform.permanent)  # ...but the robot refuses again
    await rig.drain()
    assert [a.key for a in await open_alerts(rig.db)] == ["subscriber-failing:members"]
    assert rig.staff_log.read_text(encoding="utf-8").count("parkbot outbox --retry-dead") == 2


async def test_sends_that_wait_behind_a_slow_robot_are_counted_when_they_go_out(db, aiohttp_server):
    clock = ManualClock(START)
    fast, slow = FakeWeCom(clock=clock), FakeWeCom(clock=clock)
    fast.add_robot(KEY)
    slow.add_robot("slow")
    slow.latency = timedelta(seconds=30)  # one request to it holds the only send slot for 30 s
    fast_server, slow_server = await aiohttp_server(fast.app()), await aiohttp_server(slow.app())
    groups = {"slow": subscriber("slow", "wecom", slow.url(slow_server, "slow"))}
    # 20 groups share the fast robot, so one pass plans its whole minute's allowance at once
    groups |= {f"g{n}": subscriber(f"g{n}", "wecom", fast.url(fast_server, KEY)) for n in range(20)}
    await sync_subscribers(db, list(groups), START)
    async with aiohttp.ClientSession() as session:
        deliverer = Deliverer(db, session, groups, TZ, clock=clock, rng=random.Random(3), concurrency=1)
        for group in groups.values():  # the slow robot's message is first in line
            for n in range(2):
                await deliverer.enqueue(group, Message("reply", f"回复{n}", text="五好园区"))
        for _ in range(200):
            await deliverer.deliver_due()
            wake = await deliverer.next_wake()
            if wake is None:
                break
            clock.now = max(clock.now, wake)
    assert len(fast.received_by(KEY)) == 40
    assert {a["code"] for a in fast.attempts} == {0}  # never 45009
    assert max_in_window(fast.accepted_times(KEY), timedelta(seconds=60)) <= 20


async def test_only_one_process_sends_and_a_second_never_requeues_the_firsts_message(rig, tmp_path):
    service = Deliverer(rig.db, rig.deliverer.session, rig.deliverer.subscribers, TZ, clock=rig.clock,
                        lock=SenderLock(rig.db.path))  # fmt: skip
    command = Deliverer(rig.db, rig.deliverer.session, rig.deliverer.subscribers, TZ, clock=rig.clock,
                        lock=SenderLock(rig.db.path))  # fmt: skip
    assert await service.take_over()
    [message_id] = await command.enqueue(rig.member, digest(1))
    await mark_sending(rig.db, message_id, START)  # the service's request is in flight
    assert not await command.take_over()  # the command beside it only queues
    assert await command.deliver_due() == 0 and await command.next_wake() is None
    [counts] = await outbox_counts(rig.db)
    assert counts.sending == 1  # not put back to pending behind the service's back
    service.release()
    assert await command.take_over()  # the service stopped: the command may send, and recovers
    await rig.drain()
    command.release()
    assert len(rig.accepted()) == 1
