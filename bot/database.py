"""Opening the service's database for a given configuration."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.config.types import Config
from storage.db import Database, connect
from storage.migrate import available_migrations
from storage.sources import all_sources, sync_sources
from storage.subscribers import all_subscribers, sync_subscribers


async def open_database(config: Config, now: datetime, *, read_only: bool = False) -> Database:
    """Open and migrate the configured database and make sure every source and subscriber has a row.

    With read_only (commands that only look), nothing is written unless it must be: a database that
    needs a migration, or a source or subscriber new to it. So they work while another process holds
    the write lock, as WAL allows.
    """
    if read_only:
        db = await connect(
            config.bot.database, migrate=False, read_only=True, busy_timeout=config.bot.busy_timeout
        )
        if await _up_to_date(db, config):
            return db
        await db.close()
    db = await connect(config.bot.database, busy_timeout=config.bot.busy_timeout)
    try:
        await sync_sources(db, [(s.id, s.url) for s in config.sources], now)
        await sync_subscribers(db, [s.id for s in config.subscribers], now)
    except BaseException:
        await db.close()
        raise
    return db


async def _up_to_date(db: Database, config: Config) -> bool:
    try:  # read, not schema_version(): that creates the table, a write
        version = await db.fetchvalue("SELECT coalesce(max(version), 0) FROM schema_version")
    except sqlite3.OperationalError:  # a new, empty database
        return False
    if version != len(available_migrations()):
        return False
    sources = {s.id: s.url for s in await all_sources(db)}
    subscribers = {s.id for s in await all_subscribers(db)}
    return all(sources.get(s.id) == s.url for s in config.sources) and all(
        s.id in subscribers for s in config.subscribers
    )
