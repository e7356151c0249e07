"""`parkbot backup PATH`: a consistent copy of the database with SQLite's online backup."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from bot.config.types import Config
from bot.database import open_database
from bot.errors import UsageError
from storage.db import backup

# The files SQLite keeps beside the database; writing over one corrupts or loses the live data.
_SIDE_FILES = ("", "-wal", "-shm", "-journal")


async def run_backup(config: Config, target: Path) -> str:
    """Copy the database to target with SQLite's online backup."""
    check_backup_target(target, config.bot.database)
    db = await open_database(config, datetime.now(UTC), read_only=True)
    try:
        await backup(db, target)
    finally:
        await db.close()
    return f"backup written to {target} ({target.stat().st_size} bytes, integrity ok)"


def check_backup_target(target: Path, database: Path) -> None:
    """Refuse a target that is the live database or one of its side files, however the path names it
    (a symlink, "..", a second hard link)."""
    resolved = target.resolve()
    for live in (database.with_name(database.name + suffix) for suffix in _SIDE_FILES):
        same = resolved == live.resolve() or (
            target.exists() and live.exists() and os.path.samefile(target, live)
        )
        if same:
            raise UsageError(
                f"{target}: is the live database or one of its files; write the backup elsewhere"
            )
