"""The bodies of the inspection commands: check, items, backup."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from bot.cli.tables import render_table
from bot.config.types import Config, SubscriberConfig
from bot.database import open_database
from bot.errors import UsageError
from bot.timefmt import local_iso
from storage.db import backup
from storage.errors import StorageError
from storage.items import StoredItem, newest_items, search_items
from storage.migrate import schema_version
from storage.sources import all_sources
from storage.subscribers import all_subscribers


async def run_check(config: Config, now: datetime) -> str:
    """Validate the database too and describe what the configuration sets up, secrets masked."""
    db = await open_database(config, now)
    try:
        version = await schema_version(db.conn)
        (verdict,) = await db.fetchone("PRAGMA quick_check")
        (mode,) = await db.fetchone("PRAGMA journal_mode")
        states = {s.id: s for s in await all_sources(db)}
        health = {s.id: s for s in await all_subscribers(db)}
    finally:
        await db.close()
    if verdict != "ok":
        raise StorageError(f"database {config.bot.database} failed its check: {verdict}")
    lines = [
        f"config    {config.path.resolve()}: ok",
        f"database  {config.bot.database} (schema {version}, {mode}, {verdict})",
        f"timezone  {config.bot.timezone.key}",
        "",
        f"sources ({len(config.sources)}):",
        render_table(
            ["id", "type", "every", "items", "status", "url"],
            [
                [
                    s.id,
                    s.type,
                    _duration(s.interval.total_seconds()),
                    str(states[s.id].item_count),
                    _source_status(s.enabled, states[s.id].error_count, states[s.id].last_status),
                    s.url,
                ]
                for s in config.sources
            ],
        ),
        "",
        f"subscribers ({len(config.subscribers)}):",
        render_table(
            ["id", "platform", "digest", "instant", "sources", "health", "webhook"],
            [_subscriber_row(s, health[s.id].health) for s in config.subscribers],
        ),
    ]
    failing = [
        s for s in health.values() if s.health == "failing" and s.id in {c.id for c in config.subscribers}
    ]
    if failing:
        lines += ["", "failing subscribers (fix, then: parkbot outbox --retry-dead):"]
        lines += [f"  {s.id}: {s.failing_reason}" for s in failing]
    return "\n".join(lines)


def _subscriber_row(sub: SubscriberConfig, health: str) -> list[str]:
    digest = sub.digest.strftime("%H:%M") if sub.digest else "off"
    # A console target is a path, not a secret.
    target = sub.webhook.reveal() if sub.platform == "console" else sub.webhook.masked()
    return [
        sub.id,
        sub.platform,
        digest,
        "yes" if sub.instant else "no",
        ",".join(sub.sources),
        health,
        target,
    ]


def _source_status(enabled: bool, errors: int, last: str | None) -> str:
    if not enabled:
        return "disabled"
    if errors:
        return f"failing ×{errors}"
    return last or "new"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


async def run_items(
    config: Config, now: datetime, *, source: str | None, search: str | None, limit: int, as_json: bool
) -> str:
    """List stored items newest first, as a table or as JSON."""
    if source is not None and source not in {s.id for s in config.sources}:
        raise UsageError(f"--source: no source {source!r} in {config.path.name}")
    if limit < 1:
        raise UsageError("--limit: must be at least 1")
    db = await open_database(config, now)
    try:
        if search:
            found = await search_items(db, search, source_id=source, limit=limit)
        else:
            found = await newest_items(db, source_id=source, limit=limit)
    finally:
        await db.close()
    tz = config.bot.timezone
    if as_json:
        return json.dumps([_item_json(item, tz) for item in found], ensure_ascii=False, indent=2)
    if not found:
        return "no items"
    rows = [
        [_local(i.published_at or i.fetched_at, tz, "%m-%d %H:%M"), i.source_id, i.title, i.link]
        for i in found
    ]
    return render_table(["date", "source", "title", "link"], rows)


def _item_json(item: StoredItem, tz: tzinfo) -> dict[str, object]:
    return {
        "id": item.id,
        "source": item.source_id,
        "title": item.title,
        "link": item.link,
        "summary": item.summary,
        "published": local_iso(item.published_at, tz),
        "fetched": local_iso(item.fetched_at, tz),
    }


def _local(moment: datetime, tz: tzinfo, fmt: str) -> str:
    return moment.astimezone(tz).strftime(fmt)


async def run_backup(config: Config, target: Path) -> str:
    """Copy the database to target with SQLite's online backup."""
    db = await open_database(config, datetime.now(UTC))
    try:
        await backup(db, target)
    finally:
        await db.close()
    return f"backup written to {target} ({target.stat().st_size} bytes, integrity ok)"
