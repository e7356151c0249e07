"""`parkbot check`: validate the configuration and the database; list what it sets up, secrets masked."""

from __future__ import annotations

from datetime import datetime

from bot.cli.tables import render_table
from bot.config.types import Config, SubscriberConfig
from bot.database import open_database
from storage.db import database_health
from storage.errors import StorageError
from storage.migrate import schema_version
from storage.sources import all_sources
from storage.subscribers import all_subscribers


async def run_check(config: Config, now: datetime) -> str:
    """Validate the database too and describe what the configuration sets up, secrets masked."""
    db = await open_database(config, now, read_only=True)
    try:
        version = await schema_version(db.conn)
        found = await database_health(db)
        states = {s.id: s for s in await all_sources(db)}
        health = {s.id: s for s in await all_subscribers(db)}
    finally:
        await db.close()
    if found.verdict != "ok":
        raise StorageError(f"database {config.bot.database} failed its check: {found.verdict}")
    lines = [
        f"config    {config.path.resolve()}: ok",
        f"database  {config.bot.database} (schema {version}, {found.journal_mode}, {found.verdict})",
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
