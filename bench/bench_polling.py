"""Poll 1,000 local feed sources of 50 Chinese items each and compare with bare feedparser.parse.

Measures (issue 3): (a) the first poll of all sources, (b) a repoll answered with 304, (c) a repoll
where the server ignores validators but bodies are unchanged, (d) the event loop's worst stall during
(a); and bare feedparser.parse CPU on the same bytes, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import client_session
from bot.config.types import PollingConfig, SourceConfig
from bot.pipeline import Poller, build_fetcher, parse_pool
from storage.db import connect
from storage.sources import sync_sources

HOSTS = [f"127.0.0.{n}" for n in range(1, 11)]  # ten "sites", as parks' sites are on different hosts
TZ = ZoneInfo("Asia/Shanghai")
PARKS = ["永州经开区", "长沙经开区", "湘潭高新区", "岳阳临港新区", "浏阳经开区", "郴州高新区", "株洲高新区"]


def feed_body(n: int) -> bytes:
    """A 50-item Chinese RSS 2.0 feed, different per source."""
    start = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    entries = []
    for i in range(50):
        park = PARKS[(n + i) % len(PARKS)]
        entries.append(
            f"<item><title>{park}推进“五好”园区创建 第{n}-{i}期重点项目集中签约</title>"
            f"<link>http://park{n}.example.cn/news/info_itemid_{n * 100 + i}.html</link>"
            f"<guid>park{n}-{i}</guid><pubDate>{format_datetime(start - timedelta(hours=i))}</pubDate>"
            f"<description>{park}围绕规划定位好、创新平台好、经营主体好、发展形象好、体制机制好的标准，"
            f"新引进亿元以上项目{i}个，标准厂房入驻率持续提升。</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>园区快讯 {n}</title><link>http://park{n}.example.cn/</link>{''.join(entries)}</channel></rss>"
    ).encode()


def serve(count: int, ready: multiprocessing.Event) -> None:
    """Serve /feed/N (ETag + 304) and /fixed/N (ignores validators) on every host, until killed."""
    bodies = [feed_body(n) for n in range(count)]

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        etag = f'"v{n}"'
        if request.path.startswith("/feed/") and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=bodies[n], content_type="application/rss+xml", headers={"ETag": etag})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}", handle)
        app.router.add_get("/fixed/{n}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for host in HOSTS:
            await web.TCPSite(runner, host, 18480).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def watch_loop(stop: asyncio.Event, worst: list[float]) -> None:
    """Record the longest delay of a 5 ms timer: how long the event loop was blocked."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.005)
        worst[0] = max(worst[0], loop.time() - before - 0.005)


def worker_cpu(executor: Executor) -> float:
    """CPU seconds used so far by a process pool's workers (0 for a thread pool)."""
    total = 0.0
    for pid in getattr(executor, "_processes", None) or {}:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def timed_round(poller: Poller, sources: list[SourceConfig]) -> tuple[float, float, float, dict]:
    """Poll all sources once; return wall seconds, CPU seconds (workers included), worst stall, statuses."""
    stop, worst = asyncio.Event(), [0.0]
    watcher = asyncio.create_task(watch_loop(stop, worst))
    pool = poller.parse_executor
    wall, cpu = time.perf_counter(), time.process_time() + worker_cpu(pool)
    results = await poller.poll_all(sources)
    wall, cpu = time.perf_counter() - wall, time.process_time() + worker_cpu(pool) - cpu
    stop.set()
    await watcher
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return wall, cpu, worst[0], counts


def make_pool(kind: str, workers: int) -> Executor:
    """A thread pool, or a process pool started by a fork server (never fork a threaded process)."""
    if kind == "thread":
        return ThreadPoolExecutor(workers)
    pool = parse_pool(workers)
    for _ in range(workers * 4):  # start the workers now so their start-up is not counted
        pool.submit(abs, 0).result()
    return pool


async def bench(count: int, threads: int, kind: str, fts: bool) -> None:
    polling = PollingConfig(
        interval=timedelta(minutes=30),
        timeout=timedelta(seconds=20),
        max_body=5 << 20,
        per_host=2,
        user_agent="parkbot-bench",
        first_fetch="seed",
    )

    def sources(prefix: str) -> list[SourceConfig]:
        return [
            SourceConfig(
                id=f"{prefix}-{n}",
                name=f"园区 {n}",
                url=f"http://{HOSTS[n % len(HOSTS)]}:18480/{prefix}/{n}",
                type="feed",
                interval=timedelta(minutes=30),
                encoding=None,
                enabled=True,
                select=None,
            )
            for n in range(count)
        ]

    with tempfile.TemporaryDirectory() as folder:
        db = await connect(Path(folder) / "bench.db")
        if not fts:  # measurement only: what the Chinese search index costs
            await db.conn.execute("DROP TRIGGER items_fts_insert")
        feeds, fixed = sources("feed"), sources("fixed")
        now = datetime.now(UTC)
        await sync_sources(db, [(s.id, s.url) for s in feeds + fixed], now)
        async with client_session() as session:
            with make_pool(kind, threads) as executor:
                poller = Poller(db, build_fetcher(session, polling), polling, TZ, parse_executor=executor)
                a = await timed_round(poller, feeds)
                b = await timed_round(poller, feeds)
                await timed_round(poller, fixed)  # first poll of the validator-ignoring copies
                c = await timed_round(poller, fixed)
        items = (await db.fetchone("SELECT count(*) FROM items"))[0]
        await db.close()
    bodies = [feed_body(n) for n in range(count)]
    bare = time.process_time()
    for body in bodies:
        feedparser.parse(io.BytesIO(body), response_headers={"content-type": "application/rss+xml"})
    bare = time.process_time() - bare
    print(
        f"sources={count} items stored={items} parse pool={kind}×{threads} fts={fts}"
        f" bytes/feed={len(bodies[0])}"
    )
    print(f"bare feedparser.parse CPU: {bare:.2f} s")
    for label, (wall, cpu, stall, counts) in (
        ("(a) first poll", a),
        ("(b) repoll 304", b),
        ("(c) repoll unchanged", c),
    ):
        print(
            f"{label:22} wall {wall:6.2f} s  CPU {cpu:6.2f} s  ({cpu / bare:.2f}× bare)  "
            f"worst loop stall {stall * 1000:5.1f} ms  {counts}"
        )
    print(f"(d) worst event-loop stall during (a): {a[2] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", choices=["thread", "process"], default="process")
    parser.add_argument("--no-fts", action="store_true", help="drop the search-index trigger, to measure it")
    args = parser.parse_args()
    gc.freeze()  # as the service does after start-up: imported modules are never collected
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.sources, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("bench server did not start")
        asyncio.run(bench(args.sources, args.workers, args.pool, not args.no_fts))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
