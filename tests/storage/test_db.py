"""Opening, transactions and online backup."""

import asyncio
import sqlite3
from datetime import timedelta

import aiosqlite
import pytest

from storage.db import backup, connect
from storage.errors import StorageError, WriteFailed
from storage.maintenance import optimize


async def test_transaction_rolls_back_on_error(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO alerts (key, message, raised_at) VALUES ('k', 'm', 't')")
            raise RuntimeError("boom")
    assert await db.fetchall("SELECT * FROM alerts") == []


async def test_a_failed_commit_rolls_back_and_later_writes_work(db):
    # A deferred foreign-key violation makes COMMIT itself fail and leaves the transaction open.
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute("PRAGMA defer_foreign_keys = ON")
            await conn.execute(
                "INSERT INTO deliveries (subscriber_id, item_id, kind, queued_at)"
                " VALUES ('nobody', 1, 'digest', 't')"
            )
    assert not db.conn.in_transaction
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO alerts (key, message, raised_at) VALUES ('k', 'm', 't')")
    assert len(await db.fetchall("SELECT * FROM alerts")) == 1
    assert await db.fetchall("SELECT * FROM deliveries") == []


async def test_backup_is_consistent_while_another_connection_writes(db, tmp_path):
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO alerts (key, message, raised_at) VALUES ('a', '园区', 't')")
    other = await connect(db.path)
    try:
        async with other.transaction() as conn:
            await conn.execute("INSERT INTO alerts (key, message, raised_at) VALUES ('b', '快讯', 't')")
            await backup(db, tmp_path / "copy" / "backup.db")
    finally:
        await other.close()
    async with aiosqlite.connect(tmp_path / "copy" / "backup.db") as copy:
        async with copy.execute("PRAGMA integrity_check") as cur:
            assert (await cur.fetchone())[0] == "ok"
        async with copy.execute("SELECT key FROM alerts") as cur:
            assert [r[0] for r in await cur.fetchall()] == ["a"]  # the uncommitted write is not in it
    assert not (tmp_path / "copy" / "backup.db.partial").exists()


async def test_unusable_database_is_a_storage_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"junk\.db"):
        await connect(path)


async def test_read_while_writing_from_another_connection(db):
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO alerts (key, message, raised_at) VALUES ('a', 'm', 't')")
        reader = sqlite3.connect(db.path, timeout=0)
        try:
            assert reader.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
        finally:
            reader.close()


async def test_the_nightly_checkpoint_waits_for_another_tasks_open_transaction(db):
    inside, finish = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO alerts (key, message, raised_at) VALUES ('k', 'm', 't')")
            inside.set()
            await finish.wait()

    writer = asyncio.create_task(write())
    await inside.wait()
    upkeep = asyncio.create_task(optimize(db))
    await asyncio.sleep(0.01)  # let the upkeep reach the connection while the transaction is open
    finish.set()
    await writer
    await upkeep  # before: "database table is locked", the WAL never truncated
    assert len(await db.fetchall("SELECT * FROM alerts")) == 1


async def test_a_writer_waits_out_the_busy_timeout_then_fails_as_busy(db):
    assert await db.fetchvalue("PRAGMA busy_timeout") == 5000
    impatient = await connect(db.path, busy_timeout=timedelta(milliseconds=20))
    try:
        assert await impatient.fetchvalue("PRAGMA busy_timeout") == 20
        async with db.transaction():
            with pytest.raises(WriteFailed) as caught:
                async with impatient.transaction() as conn:
                    await conn.execute("DELETE FROM alerts")
        assert caught.value.__cause__.sqlite_errorcode == sqlite3.SQLITE_BUSY
        assert (
            impatient.write_error
            == "cannot write parkbot.db: database is locked (another process is writing)"
        )
    finally:
        await impatient.close()
