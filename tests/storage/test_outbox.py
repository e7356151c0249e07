"""The outbox: parts drained in order per subscriber, at-least-once after a crash, dead letters and health."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage import outbox
from storage.outbox import (
    OutboxCounts,
    add_messages,
    dead_messages,
    due_messages,
    enqueue_messages,
    mark_dead,
    mark_retry,
    mark_sending,
    mark_sent,
    outbox_counts,
    prune_sent,
    requeue_in_flight,
    retry_dead,
    sends_since,
)
from storage.sources import sync_sources
from storage.subscribers import (
    all_subscribers,
    mark_subscriber_failing,
    mark_subscribers_healthy,
    sync_subscribers,
)

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
PARTS = ['{"text": "(1/3)"}', '{"text": "(2/3)"}', '{"text": "(3/3)"}']


@pytest.fixture
async def store(db):
    """A database with subscribers a and b."""
    await sync_subscribers(db, ["a", "b"], NOW)
    return db


async def heads(db, now=NOW) -> list[tuple[str, int]]:
    """(subscriber, part) of every due message."""
    return [(m.subscriber_id, m.part) for m in await due_messages(db, now)]


async def send(db, message_id: int, now=NOW) -> None:
    """One successful attempt."""
    await mark_sending(db, message_id, now)
    await mark_sent(db, message_id, now)


async def test_parts_are_due_one_at_a_time_in_order(store):
    ids = await enqueue_messages(store, "a", "digest", "wecom", PARTS, NOW)
    assert ids == sorted(ids) and len(ids) == 3
    for part, message_id in enumerate(ids, start=1):
        [head] = await due_messages(store, NOW)
        assert (head.id, head.part, head.parts, head.payload) == (message_id, part, 3, PARTS[part - 1])
        assert (head.state, head.attempts, head.created_at, head.next_attempt_at) == ("pending", 0, NOW, NOW)
        await send(store, message_id)
    assert await due_messages(store, NOW) == []


async def test_subscribers_drain_independently(store):
    a = await enqueue_messages(store, "a", "digest", "wecom", PARTS, NOW)
    await enqueue_messages(store, "b", "item", "feishu", ["{}", "{}"], NOW)
    assert await heads(store) == [("a", 1), ("b", 1)]
    await mark_retry(store, a[0], "HTTP 502", NOW + timedelta(minutes=1))
    assert await heads(store) == [("b", 1)]  # a's head waits; its part 2 must not overtake it
    assert await heads(store, NOW + timedelta(minutes=1)) == [("b", 1), ("a", 1)]  # soonest attempt first


async def test_future_attempt_is_not_due_until_then(store):
    [message_id] = await enqueue_messages(store, "a", "item", "wecom", ["{}"], NOW)
    await mark_sending(store, message_id, NOW)
    later = NOW + timedelta(seconds=30)
    await mark_retry(store, message_id, "rate limited", later)
    assert await due_messages(store, later - timedelta(seconds=1)) == []
    [head] = await due_messages(store, later)
    assert (head.state, head.attempts, head.last_error, head.next_attempt_at) == (
        "pending",
        1,
        "rate limited",
        later,
    )


async def test_message_in_flight_is_sent_again_after_restart(store):
    ids = await enqueue_messages(store, "a", "digest", "wecom", PARTS, NOW)
    await mark_sending(store, ids[0], NOW)
    [head] = await due_messages(store, NOW)
    assert (head.id, head.state, head.attempts) == (ids[0], "sending", 1)
    assert await requeue_in_flight(store) == 1
    [head] = await due_messages(store, NOW)
    assert (head.id, head.state, head.attempts) == (ids[0], "pending", 1)
    assert await requeue_in_flight(store) == 0


async def test_dead_head_of_failing_subscriber_blocks_it_until_retried(store):
    ids = await enqueue_messages(store, "a", "digest", "wecom", PARTS, NOW)
    await enqueue_messages(store, "b", "item", "wecom", ["{}"], NOW)
    await mark_sending(store, ids[0], NOW)
    await mark_dead(store, ids[0], "errcode 93000: invalid webhook key")
    assert await mark_subscriber_failing(store, "a", "invalid webhook key", NOW) is True
    assert await heads(store) == [("b", 1)]
    [dead] = await dead_messages(store, "a")
    assert (dead.id, dead.state, dead.last_error) == (ids[0], "dead", "errcode 93000: invalid webhook key")
    later = NOW + timedelta(hours=2)
    assert await retry_dead(store, later, "a") == 1
    assert {s.id: s.health for s in await all_subscribers(store)} == {"a": "ok", "b": "ok"}
    [head] = [m for m in await due_messages(store, later) if m.subscriber_id == "a"]
    assert (head.id, head.state, head.attempts, head.next_attempt_at) == (ids[0], "pending", 0, later)
    assert await dead_messages(store) == []


async def test_retry_dead_for_all_subscribers(store):
    [a] = await enqueue_messages(store, "a", "item", "wecom", ["{}"], NOW)
    [b] = await enqueue_messages(store, "b", "item", "wecom", ["{}"], NOW)
    for message_id, sid in ((a, "a"), (b, "b")):
        await mark_dead(store, message_id, "bad key")
        await mark_subscriber_failing(store, sid, "bad key", NOW)
    assert [m.id for m in await dead_messages(store, limit=1)] == [a]
    assert await retry_dead(store, NOW) == 2
    assert await heads(store) == [("a", 1), ("b", 1)]
    assert {s.health for s in await all_subscribers(store)} == {"ok"}


async def test_subscriber_is_marked_failing_once(store):
    assert await mark_subscriber_failing(store, "a", "invalid key", NOW) is True
    assert await mark_subscriber_failing(store, "a", "still invalid", NOW + timedelta(minutes=5)) is False
    state = {s.id: s for s in await all_subscribers(store)}["a"]
    assert (state.health, state.failing_reason, state.failing_since) == ("failing", "invalid key", NOW)
    async with store.transaction() as conn:
        await mark_subscribers_healthy(conn, ["a"])
    state = {s.id: s for s in await all_subscribers(store)}["a"]
    assert (state.health, state.failing_reason, state.failing_since) == ("ok", None, None)
    assert await mark_subscriber_failing(store, "a", "invalid again", NOW) is True


async def test_outbox_counts(store):
    await sync_subscribers(store, ["c"], NOW)
    ids = await enqueue_messages(store, "b", "digest", "wecom", PARTS, NOW)
    await enqueue_messages(store, "b", "item", "wecom", ["{}"], NOW + timedelta(minutes=1))
    [a] = await enqueue_messages(store, "a", "item", "wecom", ["{}"], NOW)
    await send(store, ids[0])
    await mark_sending(store, ids[1], NOW)
    await mark_dead(store, a, "bad key")
    assert await outbox_counts(store) == [
        OutboxCounts("a", pending=0, sending=0, dead=1, sent=0, oldest_pending_at=None),
        OutboxCounts("b", pending=2, sending=1, dead=0, sent=1, oldest_pending_at=NOW),
    ]


async def test_messages_added_in_a_rolled_back_transaction_leave_nothing(store):
    with pytest.raises(RuntimeError):
        async with store.transaction() as conn:
            ids = await add_messages(conn, "a", "digest", "wecom", PARTS, NOW)
            assert len(ids) == 3
            raise RuntimeError("the digest ledger failed")
    assert await due_messages(store, NOW) == []
    assert await outbox_counts(store) == []


async def test_sends_since_and_prune_sent(store):
    ids = await enqueue_messages(store, "a", "item", "wecom", ["1", "2", "3"], NOW)
    [b] = await enqueue_messages(store, "b", "item", "wecom", ["1"], NOW)
    for minutes, message_id in ((0, ids[0]), (2, ids[1]), (1, b)):
        await send(store, message_id, NOW + timedelta(minutes=minutes))
    await sync_sources(store, [("news", "http://hnkfq.com.cn/news/")], NOW)
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT INTO items (id, source_id, uid, link, title, fetched_at, content_hash)"
            " VALUES (1, 'news', 'u1', 'http://hnkfq.com.cn/1', '园区新闻', ?, 'h')",
            (NOW.isoformat(),),
        )
        await conn.execute(
            "INSERT INTO deliveries (subscriber_id, item_id, kind, outbox_id, queued_at)"
            " VALUES ('b', 1, 'instant', ?, ?)",
            (b, NOW.isoformat()),
        )
    assert await sends_since(store, NOW + timedelta(minutes=1)) == [
        ("b", NOW + timedelta(minutes=1)),
        ("a", NOW + timedelta(minutes=2)),
    ]
    assert await prune_sent(store, NOW + timedelta(minutes=2)) == 2
    assert await sends_since(store, NOW) == [("a", NOW + timedelta(minutes=2))]
    assert [(c.pending, c.sent) for c in await outbox_counts(store)] == [(1, 1)]  # b has no rows left
    assert [tuple(r) for r in await store.fetchall("SELECT subscriber_id, outbox_id FROM deliveries")] == [
        ("b", None)
    ]


async def test_due_messages_with_ten_thousand_subscribers_uses_the_indexes(db):
    subscribers = [f"s{n:05d}" for n in range(10_000)]
    await sync_subscribers(db, subscribers, NOW)
    pending = [
        (sid, part, (NOW + timedelta(seconds=n % 100)).isoformat())
        for n, sid in enumerate(subscribers)
        for part in (1, 2, 3)
    ]
    async with db.transaction() as conn:
        # Raw inserts: one round trip for the lot, where add_messages would take one per subscriber.
        await conn.executemany(
            "INSERT INTO outbox (subscriber_id, kind, platform, payload, part, parts, created_at,"
            " next_attempt_at) VALUES (?, 'digest', 'wecom', '{}', ?, 3, ?3, ?3)",
            pending,
        )
        # History, so the table holds 100,000 rows as after a busy fortnight.
        await conn.executemany(
            "INSERT INTO outbox (subscriber_id, kind, platform, payload, state, created_at, next_attempt_at,"
            " sent_at) VALUES (?, 'item', 'wecom', '{}', 'sent', ?2, ?2, ?2)",
            [(subscribers[n % 10_000], NOW.isoformat()) for n in range(70_000)],
        )
    plan = [row["detail"] for row in await db.fetchall("EXPLAIN QUERY PLAN " + outbox._DUE, ("", 1000))]
    assert not [step for step in plan if step.split()[:2] in (["SCAN", "outbox"], ["SCAN", "o"])], plan
    assert sum("SEARCH outbox USING COVERING INDEX outbox_subscriber" in step for step in plan) == 2, plan
    assert "SEARCH o USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    due = await due_messages(db, NOW + timedelta(hours=1), limit=1000)
    assert len(due) == 1000 and {m.part for m in due} == {1}
    assert len({m.subscriber_id for m in due}) == 1000
    assert [(m.next_attempt_at, m.id) for m in due] == sorted((m.next_attempt_at, m.id) for m in due)
    assert due[-1].next_attempt_at == NOW + timedelta(seconds=9)  # 100 subscribers per second


async def test_ids_of_pruned_messages_are_never_handed_out_again(store):
    ids = await enqueue_messages(store, "a", "digest", "wecom", PARTS, NOW)
    for message_id in ids:
        await send(store, message_id)
    assert await prune_sent(store, NOW + timedelta(days=31)) == 3
    assert min(await enqueue_messages(store, "a", "item", "wecom", PARTS[:1], NOW)) > max(ids)


async def test_prune_lets_other_writes_in_between_its_batches(store):
    for _ in range(10):
        for message_id in await enqueue_messages(store, "a", "item", "wecom", PARTS * 10, NOW):
            await send(store, message_id)
    order = []

    async def prune() -> None:
        assert await prune_sent(store, NOW + timedelta(days=31)) == 300
        order.append("prune done")

    async def write() -> None:
        await asyncio.sleep(0)  # let the prune start first
        await enqueue_messages(store, "b", "item", "wecom", PARTS[:1], NOW)
        order.append("write")

    await asyncio.gather(prune(), write())
    assert order == ["write", "prune done"]


async def test_pruning_a_message_finds_its_ledger_rows_by_index(store):
    indexes = await store.fetchall("SELECT name FROM pragma_index_list('deliveries')")
    columns = {
        row["name"]: [
            c["name"] for c in await store.fetchall("SELECT name FROM pragma_index_info(?)", (row["name"],))
        ]
        for row in indexes
    }
    assert ["outbox_id"] in columns.values()  # ON DELETE SET NULL looks the ledger up by outbox_id
    plan = await store.fetchall(
        "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE state = 'sent' AND sent_at < ? LIMIT 500", ("x",)
    )
    assert "INDEX outbox_sent (state=? AND sent_at<?)" in " ".join(row["detail"] for row in plan)
