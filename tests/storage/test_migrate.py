"""Migrations: a new database gets the latest schema; every older database upgrades cleanly."""

import sqlite3

import aiosqlite
import pytest

from storage.db import connect
from storage.migrate import Migration, apply_migrations, available_migrations, schema_version

LATEST = len(available_migrations())


async def _schema(path) -> set[tuple[str, str]]:
    async with aiosqlite.connect(path) as conn:
        rows = await conn.execute_fetchall("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    return {(name, sql) for name, sql in rows}


async def test_new_database_is_wal_with_version_recorded(tmp_path):
    db = await connect(tmp_path / "new" / "parkbot.db")
    try:
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert await schema_version(db.conn) == LATEST
        rows = await db.fetchall("SELECT version, name FROM schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, LATEST + 1))
    finally:
        await db.close()


@pytest.mark.parametrize("start", range(0, LATEST + 1))
async def test_database_from_every_earlier_version_upgrades(tmp_path, start):
    fresh = tmp_path / "fresh.db"
    await (await connect(fresh)).close()
    old = tmp_path / "old.db"
    async with aiosqlite.connect(old, isolation_level=None) as conn:
        await apply_migrations(conn, target=start)
        assert await schema_version(conn) == start
    db = await connect(old)
    try:
        assert await schema_version(db.conn) == LATEST
        assert (await db.fetchone("PRAGMA integrity_check"))[0] == "ok"
    finally:
        await db.close()
    assert await _schema(old) == await _schema(fresh)


async def test_connecting_twice_applies_nothing_more(tmp_path):
    path = tmp_path / "p.db"
    await (await connect(path)).close()
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await apply_migrations(conn) == []


async def test_failing_migration_leaves_no_trace(tmp_path):
    broken = [
        Migration(1, "good", "CREATE TABLE a (x INTEGER);"),
        Migration(2, "bad", "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);"),
    ]
    async with aiosqlite.connect(tmp_path / "p.db", isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await apply_migrations(conn, migrations=broken)
        assert await schema_version(conn) == 1
        async with conn.execute("SELECT name FROM sqlite_master WHERE name = 'b'") as cur:
            assert await cur.fetchall() == []
