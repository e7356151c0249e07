"""1,000 WeCom robots on one local fake server, one 3-part digest each (issue 4).

Measures the time until all 3,000 messages are delivered and the highest per-robot rate the fake
observed in any 60 s window (the limit is 20).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config.types import SubscriberConfig
from bot.delivery.worker import Deliverer
from bot.platforms.message import Entry, Message
from bot.redact import Secret
from storage.db import connect
from storage.subscribers import sync_subscribers
from tests.fakes.chat_platforms import FakeWeCom, max_in_window

PORT = 18490
TZ = ZoneInfo("Asia/Shanghai")


def serve(robots: int, ready: multiprocessing.Event) -> None:
    """Run FakeWeCom on the real clock, plus /stats with each robot's busiest minute."""
    fake = FakeWeCom(clock=lambda: datetime.now(UTC))
    for n in range(robots):
        fake.add_robot(f"robot-{n}")

    async def stats(request: web.Request) -> web.Response:
        keys = [f"robot-{n}" for n in range(robots)]
        per_minute = max(max_in_window(fake.accepted_times(k), timedelta(minutes=1)) for k in keys)
        return web.json_response({"accepted": len(fake.received), "attempts": len(fake.attempts),
                                  "rejected": sum(a["code"] != 0 for a in fake.attempts),
                                  "max_per_robot_minute": per_minute})  # fmt: skip

    async def main() -> None:
        app = fake.app()
        app.router.add_get("/stats", stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", PORT).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def three_part_digest() -> Message:
    day = datetime(2026, 11, 29, tzinfo=UTC)
    title = "永州经开区扎实推进“五好”园区创建 重点项目第{}批集中签约仪式在园区举行"
    entries = tuple(
        Entry(title.format(n), f"http://hnkfq.com.cn/news/info_itemid_{n}.html",
              "湖南开发区网·园区快讯" if n < 40 else "湖南省工信厅·通知公告", day)
        for n in range(75)
    )  # fmt: skip
    return Message("digest", "园区快讯 · 11月30日", entries=entries)


async def bench(robots: int) -> None:
    subscribers = {
        f"park-{n}": SubscriberConfig(
            id=f"park-{n}",
            name=f"园区{n}",
            platform="wecom",
            webhook=Secret(f"http://127.0.0.1:{PORT}/cgi-bin/webhook/send?key=robot-{n}"),
            secret=Secret(""),
            digest=None,
            instant=False,
            sources=("*",),
            include=(),
            exclude=(),
            chat_id="",
            rate_limit=None,
        )
        for n in range(robots)
    }
    with tempfile.TemporaryDirectory() as folder:
        db = await connect(Path(folder) / "bench.db")
        await sync_subscribers(db, list(subscribers), datetime.now(UTC))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
            deliverer = Deliverer(db, session, subscribers, TZ)
            message = three_part_digest()
            started = time.perf_counter()
            for sub in subscribers.values():
                await deliverer.enqueue(sub, message)
            queued = time.perf_counter() - started
            sent = 0
            while sent < 3 * robots:
                count = await deliverer.deliver_due()
                sent += count
                if not count:
                    wake = await deliverer.next_wake()
                    if wake is None:
                        break
                    await asyncio.sleep(max((wake - datetime.now(UTC)).total_seconds(), 0.01))
            elapsed = time.perf_counter() - started
            async with session.get(f"http://127.0.0.1:{PORT}/stats") as resp:
                stats = await resp.json()
        await db.close()
    print(f"robots={robots} messages sent={sent} (3 parts each)")
    print(f"queue (render + outbox write) {queued:.2f} s; all delivered after {elapsed:.2f} s")
    print(f"fake server: {stats}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--robots", type=int, default=1000)
    args = parser.parse_args()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.robots, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("bench server did not start")
        asyncio.run(bench(args.robots))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
