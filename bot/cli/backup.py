"""`parkbot backup PATH`: a consistent copy of the database with SQLite's online backup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config.types import Config
from bot.database import open_database
from storage.db import backup


async def run_backup(config: Config, target: Path) -> str:
    """Copy the database to target with SQLite's online backup."""
    db = await open_database(config, datetime.now(UTC))
    try:
        await backup(db, target)
    finally:
        await db.close()
    return f"backup written to {target} ({target.stat().st_size} bytes, integrity ok)"
