"""10,000 subscribers with filters over 100,000 stored items: build and queue every digest (issue 5).

Items span a year (as retention keeps them), about 270 a day from 130 sources; every subscriber had
its digest yesterday. Reports the time to build and queue all digests and the process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config.load import load_config
from bot.delivery.digest import DigestBuilder
from feeds.models import ParsedItem
from storage.db import connect
from storage.items import PushState, insert_new_items
from storage.sources import sync_sources
from storage.subscribers import sync_subscribers

PARKS = ["永州", "长沙", "湘潭", "岳阳", "浏阳", "郴州", "株洲", "衡阳", "常德", "益阳", "娄底", "怀化",
         "邵阳", "张家界", "湘西", "宁乡", "望城", "醴陵", "汨罗", "韶山"]  # fmt: skip
TOPICS = ["五好园区", "项目签约", "招商引资", "营商环境", "科技创新", "标准厂房", "招聘", "产业链"]
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


def config_text(sources: int, subscribers: int, rng: random.Random) -> str:
    parts = ['[bot]\nname = "园区快讯"\ndatabase = "bench.db"\n']
    for n in range(sources):
        parts.append(f'[[sources]]\nid = "s{n}"\nname = "{PARKS[n % len(PARKS)]}园区{n}"\n'
                     f'url = "http://127.0.0.1:9/{n}"\ntype = "feed"\n')  # fmt: skip
    platforms = ["wecom", "dingtalk", "feishu"]
    for n in range(subscribers):
        kind = rng.random()
        lines = [f'[[subscribers]]\nid = "p{n}"\nplatform = "{platforms[n % 3]}"',
                 f'webhook = "http://127.0.0.1:9/hook/{n}"', 'digest = "08:30"']  # fmt: skip
        if kind < 0.3:
            picked = rng.sample(range(sources), rng.randint(5, 20))
            lines.append("sources = [" + ", ".join(f'"s{i}"' for i in picked) + "]")
        elif kind < 0.5:
            lines.append("include = [" + ", ".join(f'"{w}"' for w in rng.sample(PARKS + TOPICS, 2)) + "]")
        if rng.random() < 0.2:
            lines.append('exclude = ["招聘"]')
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


async def fill(db, sources: int, items: int, rng: random.Random) -> None:
    per_source = items // sources
    for n in range(sources):
        batch = []
        for i in range(per_source):
            age = timedelta(days=365) * (i / per_source)
            park, topic = PARKS[(n + i) % len(PARKS)], TOPICS[i % len(TOPICS)]
            title = f"{park}经开区{topic}工作推进会召开 第{n}-{i}期"
            summary = "围绕规划定位好、创新平台好、经营主体好的标准，推进重点项目建设。"
            item = ParsedItem(f"s{n}-{i}", f"http://park{n}.example.cn/{i}.html", title, summary, NOW - age)
            batch.append((item, PushState.PUSH))
        await insert_new_items(db, f"s{n}", batch, NOW)
    # each item first seen when it was published: the newest ~270 are from the last day
    async with db.transaction() as conn:
        await conn.execute("UPDATE items SET fetched_at = published_at")


async def bench(sources: int, subscribers: int, items: int) -> None:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(config_text(sources, subscribers, rng), encoding="utf-8")
        config = load_config(path, environ={})
        db = await connect(config.bot.database)
        await sync_sources(db, [(s.id, s.url) for s in config.sources], NOW - timedelta(days=400))
        await sync_subscribers(db, [s.id for s in config.subscribers], NOW - timedelta(days=400))
        await fill(db, sources, items, rng)
        async with db.transaction() as conn:  # everyone had yesterday's digest
            await conn.execute(
                "UPDATE subscribers SET last_digest_at = ?", ((NOW - timedelta(days=1)).isoformat(),)
            )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        builder = DigestBuilder(db, config, lambda: NOW)
        plans = await builder.plan(config.subscribers)
        planned = time.perf_counter() - started
        queued = await builder.queue(plans, once_per_day=True)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ledger = (await db.fetchone("SELECT count(*) FROM deliveries"))[0]
        outbox = (await db.fetchone("SELECT count(*) FROM outbox"))[0]
        await db.close()
    shown = sum(len(p.items) for p in plans)
    print(f"subscribers={subscribers} items stored={items} sources={sources}")
    print(f"plan {planned:.2f} s, plan+queue {elapsed:.2f} s; digests queued={len(queued)} "
          f"outbox rows={outbox} ledger rows={ledger} items matched={shown}")  # fmt: skip
    print(f"peak RSS {peak:.0f} MB (before the digest run {rss_before:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=130)
    args = parser.parse_args()
    asyncio.run(bench(args.sources, args.subscribers, args.items))


if __name__ == "__main__":
    main()
