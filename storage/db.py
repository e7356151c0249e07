"""Opening the database: pragmas, migrations, transactions and online backup."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from storage.errors import StorageError, WriteFailed
from storage.migrate import apply_migrations

log = logging.getLogger(__name__)

BATCH_BUDGET = 0.02  # seconds one batch of a bulk delete may hold the write lock
# The busy timeout lets a second process wait for a short write instead of failing at once with
# "database is locked".
BUSY_TIMEOUT = timedelta(seconds=5)

# WAL lets `parkbot items` read while the service writes.
_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)
# Primary result codes of a write the database refuses (https://sqlite.org/rescode.html): BUSY, LOCKED,
# READONLY, IOERR, FULL, CANTOPEN.
_REFUSED_WRITE = frozenset({5, 6, 8, 10, 13, 14})


class Database:
    """One aiosqlite connection with a write lock, so transactions from concurrent tasks never interleave."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, *, read_only: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only  # opened by a command that only reads: close without PRAGMA optimize
        self._write_lock = asyncio.Lock()
        self._closed = False
        self.write_error: str | None = None  # why the latest write failed, until one succeeds again
        self.commits = 0  # transactions this connection committed: a cheap "has anything changed"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block in one IMMEDIATE transaction; roll back if it raises. A write SQLite refuses
        (locked past the busy timeout, disk full, I/O error) raises WriteFailed naming the cause."""
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                    await self.conn.commit()
                except BaseException:
                    # A failed COMMIT (a deferred constraint, a full disk, SQLITE_BUSY) leaves the
                    # transaction open; on the shared connection every later BEGIN would fail.
                    if self.conn.in_transaction:
                        await self.conn.rollback()
                    raise
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF not in _REFUSED_WRITE:
                    raise  # a bug in our SQL, not the database refusing
                self.write_error = f"cannot write {self.path.name}: {_cause(exc)}"
                raise WriteFailed(self.write_error) from exc
            self.write_error = None
            self.commits += 1

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a query and return all rows."""
        async with self.conn.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """Run a query and return its first row, or None."""
        async with self.conn.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def version(self) -> tuple[int, int]:
        """Return a token that changes whenever this connection or another process commits a change."""
        # PRAGMA data_version moves only for other connections' commits (https://sqlite.org/pragma.html).
        return self.commits, int(await self.fetchvalue("PRAGMA data_version"))

    async def fetchvalue(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Run a query that always answers one row (an aggregate, a pragma) and return its first column."""
        row = await self.fetchone(sql, params)
        if row is None:
            raise StorageError(f"no row from: {sql}")
        return row[0]

    async def delete_in_batches(
        self, table: str, where: str, params: Iterable[Any], *, key: str = "id", budget: float = BATCH_BUDGET
    ) -> int:
        """Delete the rows of `table` matching `where` in transactions of about `budget` seconds each,
        so other writers (and readers, which share this connection's thread) wait no longer than that;
        return how many were deleted. `key` names the columns that identify a row."""
        params = tuple(params)
        removed, batch = 0, 20
        sql = f"DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {where} LIMIT ?)"
        while True:
            async with self.transaction() as conn:
                started = time.perf_counter()
                cursor = await conn.execute(sql, (*params, batch))
                elapsed = time.perf_counter() - started
            removed += cursor.rowcount
            if cursor.rowcount < batch:
                return removed
            # A row can cost anything from microseconds to a cascade of thousands: size by time, not rows.
            batch = max(10, min(batch * 2, 10_000, int(batch * budget / max(elapsed, 1e-4))))
            # Leave the connection to the service as long again: a bulk delete gets at most half of it.
            await asyncio.sleep(min(elapsed, budget))

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[aiosqlite.Connection]:
        """Hold the write lock outside any transaction, for statements that must not run inside another
        task's open transaction (a WAL checkpoint, PRAGMA optimize)."""
        async with self._write_lock:
            yield self.conn

    async def close(self) -> None:
        """Let SQLite optimize, then close the connection (closing twice is harmless)."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self.read_only:
                await self.conn.execute("PRAGMA optimize")
        finally:
            await self.conn.close()


def _cause(exc: sqlite3.OperationalError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"{text} (another process is writing)"
    return text


async def connect(
    path: Path, *, migrate: bool = True, read_only: bool = False, busy_timeout: timedelta = BUSY_TIMEOUT
) -> Database:
    """Open (creating file and folder) the database at path, set pragmas and apply migrations."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout.total_seconds())
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    try:
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
        if migrate:
            await apply_migrations(conn)
    except sqlite3.Error as exc:
        await conn.close()
        raise StorageError(f"cannot use database {path}: {exc}") from exc
    return Database(conn, path, read_only=read_only)


async def backup(db: Database, target: Path) -> None:
    """Write a consistent copy of the database to target, safe while other connections write."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        async with aiosqlite.connect(partial) as copy:
            await db.conn.backup(copy)
            await copy.execute("PRAGMA journal_mode = DELETE")
            async with copy.execute("PRAGMA integrity_check") as cursor:
                (verdict,) = await cursor.fetchone() or ("no answer",)
        if verdict != "ok":
            raise StorageError(f"backup {target} failed its integrity check: {verdict}")
        partial.replace(target)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot write backup {target}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    """What `parkbot check` reports of the database file itself."""

    journal_mode: str
    verdict: str  # "ok", or what SQLite's quick_check found


async def database_health(db: Database) -> DatabaseHealth:
    """Run SQLite's quick_check and read the journal mode."""
    verdict = await db.fetchvalue("PRAGMA quick_check")
    mode = await db.fetchvalue("PRAGMA journal_mode")
    return DatabaseHealth(mode, verdict)
