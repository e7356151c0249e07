"""The nightly housekeeping beside a busy service: does the batched prune still freeze it? (issue 9)

A real database (storage.db.connect, every migration) is built once in a temporary folder: 10,000
subscribers, 130 sources, 1,000 items a day for 60 days, one digest a day per subscriber for those
60 days (a `digests` row and 5 ledger rows each: 3.0 M ledger rows), and the sent digest outbox rows
of the newest 31 days (310,000). Ledger rows older than 30 days keep their row with outbox_id NULL, as
prune_sent leaves them; so, as in production (365 d retention, 30 d outbox), item retention deletes
items that still have ledger rows (ON DELETE CASCADE) and the outbox prune sets other days' ledger
rows to NULL. The ledger spans 60 days at 5 items a digest rather than 30 days at 10, so that both
happen at about 3 M rows and the setup stays near a minute (--per-digest 10 for the denser ledger).

Two scenarios run run_housekeeping on a fresh copy of that file (WAL checkpointed before the copy, the
copy synced to disk after it, so the kernel writing it back does not land in the figures):
- nightly: one day goes: the oldest item day (1,000 items, 50,000 ledger rows cascade), outbox day 30
  (10,000 rows, their 50,000 ledger rows set NULL) and the oldest digest day (10,000 rows);
- long gap: the first prune after 15 days without one: 15 days of each at once.

Meanwhile a task plays the service: every 10 ms one small write through db.transaction() (an
instant message queued with storage.outbox.enqueue_messages) and one read (SELECT 1), each timed
from the call to its return, lock and queue waits included. The same task runs alone for a few
seconds first on the same copy: the baseline. Each scenario runs 3 times; the table shows the median,
the min–max range and the baseline; PASS when the median is within the target (write and read max
< 1 s, p99 < 100 ms). Housekeeping raising counts as a MISS too (its error is printed and the runs go
on; rows removed then come from the steps' log lines). Exit status 1 on a MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import Database, connect
from storage.maintenance import Housekeeping, run_housekeeping
from storage.outbox import enqueue_messages
from storage.sources import sync_sources
from storage.subscribers import sync_subscribers
from storage.times import to_db

PARKS = ["永州", "长沙", "湘潭", "岳阳", "浏阳", "郴州", "株洲", "衡阳", "常德", "益阳", "娄底", "怀化",
         "邵阳", "张家界", "湘西", "宁乡", "望城", "醴陵", "汨罗", "韶山"]  # fmt: skip
TOPICS = ["五好园区", "项目签约", "招商引资", "营商环境", "科技创新", "标准厂房", "招聘", "产业链"]
# Today's digest went at 08:30 Shanghai; digest day k was sent at DAY0 - k days, and lists items first
# seen in the 24 hours before it.
DAY0 = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
TICK = 0.010
STEPS = ("items", "outbox", "digests", "optimize")
MAX_TARGET, P99_TARGET = 1.0, 0.100
NO_STEP = (0, 0.0, 0.0)  # a step that never ran: it removed nothing, took no time


@dataclass(frozen=True)
class Shape:
    subscribers: int
    sources: int
    items_per_day: int
    days: int
    outbox_days: int
    per_digest: int


@dataclass(frozen=True)
class Scenario:
    name: str
    days: int  # how many days of items, outbox rows and digest days one run removes

    def cutoffs(self, shape: Shape) -> dict[str, object]:
        oldest = shape.days - 1
        return {
            # item day k was first seen in [DAY0 - (k+1) d, DAY0 - k d)
            "items_before": day(oldest - self.days + 1),
            # outbox day k was sent within 17 minutes of DAY0 - k d
            "outbox_before": day(shape.outbox_days - self.days) + timedelta(hours=1),
            "digests_before": local_day(oldest - self.days),
        }


def day(k: int) -> datetime:
    return DAY0 - timedelta(days=k)


def local_day(k: int) -> str:
    return (day(k) + timedelta(hours=8)).date().isoformat()


# ---- build ---------------------------------------------------------------------------------------------


async def build(path: Path, shape: Shape, rng: random.Random) -> None:
    """Write the database once, fast: raw executemany in a few big transactions, checks off meanwhile."""
    db = await connect(path)
    conn = db.conn
    for pragma in ("foreign_keys = OFF", "synchronous = OFF", "cache_size = -512000"):
        await conn.execute(f"PRAGMA {pragma}")
    created = day(400)
    await sync_sources(db, [(f"s{n}", f"http://127.0.0.1:9/{n}") for n in range(shape.sources)], created)
    subscribers = [f"p{n}" for n in range(shape.subscribers)]
    await sync_subscribers(db, subscribers, created)

    per_day = shape.items_per_day
    summary = "围绕规划定位好、创新平台好、经营主体好的标准，推进重点项目建设。"

    def items():
        for k in range(shape.days):
            for i in range(per_day):
                item_id = k * per_day + i + 1
                seen = to_db(day(k + 1) + timedelta(seconds=86_400 * i / per_day))
                n = item_id % shape.sources
                park, topic = PARKS[item_id % len(PARKS)], TOPICS[i % len(TOPICS)]
                title = f"{park}经开区{topic}工作推进会召开 第{item_id}期"
                yield (item_id, f"s{n}", f"s{n}-{item_id}", f"http://park{n}.example.cn/{item_id}.html",
                       title, summary, seen, seen, f"h{item_id}")  # fmt: skip

    async with db.transaction() as c:
        await c.executemany(
            "INSERT INTO items (id, source_id, uid, link, title, summary, published_at, fetched_at,"
            " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            items(),
        )

    entries = "".join(f"\\n- [{PARKS[i]}经开区{TOPICS[i]}工作推进会召开](http://park{i}.example.cn/{i}.html)"
                      for i in range(shape.per_digest))  # fmt: skip
    payload = '{"msgtype": "markdown", "markdown": {"content": "## 园区快讯 · 11月30日' + entries + '"}}'

    def outbox():
        for k in range(shape.outbox_days):
            for s, subscriber in enumerate(subscribers):
                at = to_db(day(k) + timedelta(seconds=s // 10))
                yield (k * shape.subscribers + s + 1, subscriber, "digest", "wecom", payload, "sent", 1,
                       at, at, at)  # fmt: skip

    async with db.transaction() as c:
        await c.executemany(
            "INSERT INTO outbox (id, subscriber_id, kind, platform, payload, state, attempts, created_at,"
            " next_attempt_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            outbox(),
        )

    def ledger(k: int):
        queued = to_db(day(k))
        first = k * per_day + 1
        for s, subscriber in enumerate(subscribers):
            outbox_id = k * shape.subscribers + s + 1 if k < shape.outbox_days else None
            for i in sorted(rng.sample(range(per_day), shape.per_digest)):
                yield (subscriber, first + i, "digest", outbox_id, queued)

    for k in range(shape.days):  # a day per transaction: 50,000 rows each
        async with db.transaction() as c:
            await c.executemany(
                "INSERT INTO deliveries (subscriber_id, item_id, kind, outbox_id, queued_at)"
                " VALUES (?, ?, ?, ?, ?)",
                ledger(k),
            )
            await c.executemany(
                "INSERT INTO digests (subscriber_id, day, built_at, items) VALUES (?, ?, ?, ?)",
                [(s, local_day(k), to_db(day(k)), shape.per_digest) for s in subscribers],
            )
    # Statistics as the previous nights' PRAGMA optimize left them, then fold the WAL into the file.
    await conn.execute("ANALYZE")
    await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    await db.close()


# ---- measure -------------------------------------------------------------------------------------------


@dataclass
class Ops:
    """The service task's timings: (start, seconds) of each write and each read."""

    writes: list[tuple[float, float]] = field(default_factory=list)
    reads: list[tuple[float, float]] = field(default_factory=list)


async def service(db: Database, stop: asyncio.Event, ops: Ops, shape: Shape) -> None:
    """Every TICK: queue one instant message for one subscriber, then one read; a late tick is skipped."""
    payload = '{"msgtype": "markdown", "markdown": {"content": "**长沙经开区** 项目签约工作推进会召开"}}'
    loop = asyncio.get_running_loop()
    started = loop.time()
    n = 0
    while not stop.is_set():
        began = time.perf_counter()
        await enqueue_messages(db, f"p{n % shape.subscribers}", "item", "wecom", [payload], DAY0)
        read = time.perf_counter()
        await db.fetchone("SELECT 1")
        done = time.perf_counter()
        ops.writes.append((began, read - began))
        ops.reads.append((read, done - read))
        n += 1
        ticks = int((loop.time() - started) / TICK) + 1
        await asyncio.sleep(max(0.0, started + ticks * TICK - loop.time()))


class StepLog(logging.Handler):
    """Collects run_housekeeping's per-step log lines: (step, removed, seconds, perf_counter at the end)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.steps: list[tuple[str, int, float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("housekeeping step="):
            name, removed, *_, elapsed = record.args  # items also report their ledger rows
            self.steps.append((name, removed, elapsed, time.perf_counter()))


@dataclass
class Result:
    wall: float
    done: Housekeeping
    steps: dict[str, tuple[int, float, float]]  # step: removed, seconds, worst write+read latency in it
    ops: Ops
    baseline: Ops
    ledger: tuple[int, int] | None  # ledger rows deleted, ledger rows set to NULL
    error: str  # what run_housekeeping raised, if it did


async def measure(path: Path, shape: Shape, scenario: Scenario, baseline_s: float, count: bool) -> Result:
    db = await connect(path)
    before = await ledger_counts(db) if count else None
    linked_items = None
    if count:  # ledger rows that go with their items while still naming an outbox row
        row = await db.fetchone(
            "SELECT count(*) FROM deliveries d JOIN items i ON i.id = d.item_id"
            " WHERE i.fetched_at < ? AND d.outbox_id IS NOT NULL",
            (to_db(scenario.cutoffs(shape)["items_before"]),),
        )
        linked_items = row[0]
    baseline, ops = Ops(), Ops()
    stop = asyncio.Event()
    task = asyncio.create_task(service(db, stop, baseline, shape))
    await asyncio.sleep(baseline_s)
    stop.set()
    await task

    steps = StepLog()
    logger = logging.getLogger("storage.maintenance")
    logger.addHandler(steps)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    stop = asyncio.Event()
    task = asyncio.create_task(service(db, stop, ops, shape))
    await asyncio.sleep(0.2)  # the service is in its stride before housekeeping starts
    started = time.perf_counter()
    error = ""
    try:
        await run_housekeeping(db, **scenario.cutoffs(shape))
    except Exception as exc:  # reported beside the timings: the bench goes on to the next run
        failed = STEPS[len(steps.steps)]
        error = f"step {failed} raised {type(exc).__name__}: {exc}"
        ended = time.perf_counter()
        steps.steps.append((failed, 0, ended - (steps.steps[-1][3] if steps.steps else started), ended))
    finally:
        wall = time.perf_counter() - started
        stop.set()
        await task
        logger.removeHandler(steps)
    after = await ledger_counts(db) if count else None
    await db.close()

    per_step = {}
    removed_by = {name: removed for name, removed, _, _ in steps.steps}
    done = Housekeeping(removed_by.get("items", 0), removed_by.get("outbox", 0), removed_by.get("digests", 0))
    for name, removed, elapsed, ended in steps.steps:
        pairs = zip(ops.writes, ops.reads, strict=True)
        worst = max((w + r for (b, w), (_, r) in pairs if ended - elapsed <= b < ended), default=0.0)
        per_step[name] = (removed, elapsed, worst)
    ops.writes = [(b, s) for b, s in ops.writes if b + s >= started]  # only what overlapped housekeeping
    ops.reads = [(b, s) for b, s in ops.reads if b + s >= started]
    ledger = None
    if before and after:
        ledger = (before[0] - after[0], before[1] - after[1] - linked_items)
    return Result(wall, done, per_step, ops, baseline, ledger, error)


async def ledger_counts(db: Database) -> tuple[int, int]:
    """(ledger rows, ledger rows that still name an outbox row)."""
    row = await db.fetchone("SELECT count(*), count(outbox_id) FROM deliveries")
    return row[0], row[1]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# ---- report --------------------------------------------------------------------------------------------


def show(seconds: float) -> str:
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def spread(values: list[float], fmt: Callable[[float], str]) -> tuple[str, str]:
    return fmt(statistics.median(values)), f"{fmt(min(values))} – {fmt(max(values))}"


def report(scenario: Scenario, results: list[Result], shape: Shape) -> bool:
    runs = len(results)
    first = results[0]
    cutoffs = scenario.cutoffs(shape).items()
    shown = ", ".join(f"{k}={v if isinstance(v, str) else to_db(v)}" for k, v in cutoffs)
    print(f"\n== {scenario.name}: {scenario.days} day(s) removed at once; cut-offs {shown}")
    d = first.done
    print(f"removed: items={d.items} outbox={d.outbox} digests={d.digests}", end="")
    if first.ledger:
        print(f"; ledger rows deleted with their items={first.ledger[0]}, ledger rows set to NULL "
              f"(outbox pruned)={first.ledger[1]}")  # fmt: skip
    else:
        print()
    same = all(r.done == d for r in results)
    if not same:
        print("  (runs removed different counts: " + ", ".join(str(r.done) for r in results) + ")")

    count = lambda v: f"{v:,.0f}"  # noqa: E731
    rows: list[tuple[str, list[float], list[float] | None, Callable[[float], str], float | None]] = [
        ("housekeeping wall time", [r.wall for r in results], None, show, None),
    ]
    for step in STEPS:
        rows.append((f"  step {step}", [r.steps.get(step, NO_STEP)[1] for r in results], None, show, None))
    for label, pick in (("write", lambda o: o.writes), ("read", lambda o: o.reads)):
        during = [[s for _, s in pick(r.ops)] for r in results]
        base = [[s for _, s in pick(r.baseline)] for r in results]
        rows += [
            (f"{label} p50", [percentile(x, 0.50) for x in during], [percentile(x, 0.50) for x in base], show,
             None),
            (f"{label} p99", [percentile(x, 0.99) for x in during], [percentile(x, 0.99) for x in base], show,
             P99_TARGET),
            (f"{label} max", [max(x) for x in during], [max(x) for x in base], show, MAX_TARGET),
        ]  # fmt: skip
    rows.append(("write+read pairs completed", [len(r.ops.writes) for r in results],
                 [len(r.baseline.writes) for r in results], count, None))  # fmt: skip
    rows.append(("  per second", [len(r.ops.writes) / r.wall for r in results],
                 [len(r.baseline.writes) / span(r.baseline) for r in results], count, None))  # fmt: skip

    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'median':>9}  {f'min–max of {runs}':>19}  {'baseline (no housekeeping)':>29}"
          f"  {'target':>8}")  # fmt: skip
    passed = True
    for name, values, base, fmt, target in rows:
        middle, rng = spread(values, fmt)
        base_text = ""
        if base is not None:
            b_mid, b_rng = spread(base, fmt)
            base_text = f"{b_mid} ({b_rng})"
        verdict = ""
        if target is not None:
            ok = statistics.median(values) < target
            passed &= ok
            verdict = f"< {show(target):>6}  {'PASS' if ok else 'MISS'}"
        print(f"{name:{width}}  {middle:>9}  {rng:>19}  {base_text:>29}  {verdict}")
    worst = {s: max(r.steps.get(s, NO_STEP)[2] for r in results) for s in STEPS}
    print("slowest write+read pair started in each step, worst of the runs: "
          + ", ".join(f"{s} {show(w)}" for s, w in worst.items()))  # fmt: skip
    failed = [f"run {n}: {r.error}" for n, r in enumerate(results, start=1) if r.error]
    verdict = "MISS" if failed else "PASS"
    print(f"housekeeping completed in {runs - len(failed)} of {runs} runs  {verdict}")
    for line in failed:
        print(f"  {line}")
    return passed and not failed


def span(ops: Ops) -> float:
    begin = ops.writes[0][0]
    end = ops.reads[-1][0] + ops.reads[-1][1]
    return end - begin


# ---- main ----------------------------------------------------------------------------------------------


def describe(shape: Shape) -> None:
    s = shape
    print(f"subscribers={s.subscribers:,} sources={s.sources}"
          f" items={s.items_per_day * s.days:,} ({s.items_per_day:,}/day over {s.days} days)"
          f" digest-day rows={s.subscribers * s.days:,}")  # fmt: skip
    print(f"ledger rows={s.subscribers * s.days * s.per_digest:,} ({s.per_digest} per digest, {s.days} days;"
          f" {s.subscribers * s.per_digest // s.items_per_day} per item)"
          f" sent outbox rows={s.subscribers * s.outbox_days:,} (newest {s.outbox_days} days)")  # fmt: skip


async def bench(shape: Shape, runs: int, gap: int, baseline_s: float) -> bool:
    scenarios = [Scenario("nightly", 1), Scenario("long gap", gap)]
    overall = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "template.db"
        started = time.perf_counter()
        await build(template, shape, random.Random(42))
        setup = time.perf_counter() - started
        for leftover in (Path(f"{template}-wal"), Path(f"{template}-shm")):
            if leftover.exists() and leftover.stat().st_size:
                raise SystemExit(f"{leftover} is not empty: the copy would miss rows")
        describe(shape)
        size = template.stat().st_size / 1e6
        task = f"1 write + 1 read every {TICK * 1000:.0f} ms, alone {baseline_s:g} s per copy: the baseline"
        print(f"setup {setup:.1f} s (not measured), database {size:.0f} MB; service task: {task}")
        results: dict[str, list[Result]] = {s.name: [] for s in scenarios}
        for run in range(runs):
            for scenario in scenarios:
                copy = Path(folder) / "run.db"
                for stale in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
                    stale.unlink(missing_ok=True)
                shutil.copyfile(template, copy)
                with copy.open("rb+") as written:  # else the first checkpoint's fsync writes the whole copy
                    os.fsync(written.fileno())
                result = await measure(copy, shape, scenario, baseline_s, count=run == 0)
                results[scenario.name].append(result)
                note = f"; {result.error}" if result.error else ""
                print(f"run {run + 1} {scenario.name}: housekeeping {result.wall:.2f} s{note}", flush=True)
        passed = all([report(s, results[s.name], shape) for s in scenarios])
    print(f"\ntotal {time.perf_counter() - overall:.0f} s")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=130)
    parser.add_argument("--items-per-day", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=60, help="days of items, ledger and digest-day rows")
    parser.add_argument("--outbox-days", type=int, default=31, help="newest days with sent outbox rows")
    parser.add_argument("--per-digest", type=int, default=5, help="ledger rows (items listed) per digest")
    parser.add_argument("--gap", type=int, default=15, help="days the long-gap scenario removes at once")
    parser.add_argument("--baseline", type=float, default=3.0, help="seconds of the service task alone")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    shape = Shape(
        args.subscribers, args.sources, args.items_per_day, args.days, args.outbox_days, args.per_digest
    )
    if not asyncio.run(bench(shape, args.runs, args.gap, args.baseline)):
        sys.exit(1)


if __name__ == "__main__":
    main()
