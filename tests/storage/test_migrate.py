"""Migrations: a new database gets the latest schema; every older database upgrades cleanly."""

import sqlite3

import aiosqlite
import pytest

from storage.db import connect
from storage.migrate import Migration, apply_migrations, available_migrations, schema_version
from storage.search import search_items

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


async def test_an_old_database_whose_newest_rows_were_deleted_never_reuses_their_ids(tmp_path):
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_migrations(conn, target=2)
        await conn.executescript(
            "INSERT INTO sources (id, url, created_at) VALUES ('s', 'http://x.org/', 't');"
            "INSERT INTO subscribers (id, created_at, digest_cursor) VALUES ('a', 't', 40);"
            "INSERT INTO items (id, source_id, uid, link, title, fetched_at, content_hash)"
            "  VALUES (7, 's', 'u7', 'http://x.org/7', '旧', 't', 'h');"
            "INSERT INTO outbox (id, subscriber_id, kind, platform, payload, created_at, next_attempt_at)"
            "  VALUES (3, 'a', 'digest', 'wecom', '{}', 't', 't');"
            "INSERT INTO deliveries (subscriber_id, item_id, kind, outbox_id, queued_at)"
            "  VALUES ('a', 7, 'digest', 90, 't');"
        )  # items up to 40 and outbox rows up to 90 existed once; retention deleted them
    db = await connect(path)
    try:
        assert (await db.fetchone("SELECT title FROM items WHERE id = 7"))[0] == "旧"
        assert len(await db.fetchall("SELECT * FROM deliveries")) == 1  # the rebuild cascaded nothing
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO items (source_id, uid, link, title, fetched_at, content_hash)"
                " VALUES ('s', 'u8', 'http://x.org/8', '新的园区快讯', '2026-11-30T00:00:00+00:00', 'h')"
            )
            await conn.execute(
                "INSERT INTO outbox (subscriber_id, kind, platform, payload, created_at, next_attempt_at)"
                " VALUES ('a', 'item', 'wecom', '{}', 't', 't')"
            )
        assert (await db.fetchone("SELECT max(id) FROM items"))[0] == 41
        assert (await db.fetchone("SELECT max(id) FROM outbox"))[0] == 91
        assert [i.id for i in await search_items(db, "园区快讯")] == [41]  # the search triggers came back
    finally:
        await db.close()
