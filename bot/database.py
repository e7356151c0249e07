"""Opening the service's database for a given configuration."""

from __future__ import annotations

from datetime import datetime

from bot.config.types import Config
from storage.db import Database, connect
from storage.sources import sync_sources
from storage.subscribers import sync_subscribers


async def open_database(config: Config, now: datetime) -> Database:
    """Open and migrate the configured database and make sure every source and subscriber has a row."""
    db = await connect(config.bot.database, busy_timeout=config.bot.busy_timeout)
    try:
        await sync_sources(db, [(s.id, s.url) for s in config.sources], now)
        await sync_subscribers(db, [s.id for s in config.subscribers], now)
    except BaseException:
        await db.close()
        raise
    return db
