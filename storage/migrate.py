"""Numbered SQL migrations applied in order, each in one transaction, with the schema version recorded."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    sql: str


def available_migrations() -> tuple[Migration, ...]:
    """Return the shipped migrations in version order."""
    found = []
    for path in MIGRATIONS_DIR.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..N: {[m.version for m in found]}")
    return tuple(found)


async def schema_version(conn: aiosqlite.Connection) -> int:
    """Return the version of the schema in the database (0 for a new database)."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with conn.execute("SELECT coalesce(max(version), 0) FROM schema_version") as cursor:
        row = await cursor.fetchone()
    return row[0] if row else 0


async def apply_migrations(
    conn: aiosqlite.Connection,
    *,
    target: int | None = None,
    migrations: Sequence[Migration] | None = None,
) -> list[int]:
    """Apply every migration above the current version (up to target); return the versions applied."""
    current = await schema_version(conn)
    applied = []
    for migration in available_migrations() if migrations is None else migrations:
        if migration.version <= current or (target is not None and migration.version > target):
            continue
        await _apply_one(conn, migration)
        applied.append(migration.version)
    return applied


async def _apply_one(conn: aiosqlite.Connection, migration: Migration) -> None:
    """Run one migration and its version row in a single transaction."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    # executescript commits any open transaction first, so BEGIN/COMMIT live inside the script.
    script = (
        f"BEGIN IMMEDIATE;\n{migration.sql}\n;"
        f"INSERT INTO schema_version (version, name, applied_at)"
        f" VALUES ({migration.version}, '{migration.name}', '{stamp}');\nCOMMIT;"
    )
    # A migration may rebuild a table (https://sqlite.org/lang_altertable.html#otheralter): with foreign
    # keys on, dropping the old table would cascade deletes. The pragma is a no-op inside a transaction.
    async with conn.execute("PRAGMA foreign_keys") as cursor:
        (foreign_keys,) = await cursor.fetchone() or (0,)
    await conn.execute("PRAGMA foreign_keys = OFF")
    try:
        await conn.executescript(script)
    except BaseException:
        if conn.in_transaction:
            await conn.rollback()
        raise
    finally:
        await conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
