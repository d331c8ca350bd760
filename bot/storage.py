"""The one owner of the SQLite connections, and the numbered migrations.

Everything that reads or writes the database goes through a `Database`. Writes that a member
will be told about run inside `transaction()`, which commits before it returns, so an
acknowledgement is never sent for something that could still be lost. One connection writes;
reads outside a transaction run on connections of their own (`Reads`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

import aiosqlite

from bot.dialect import SQLITE
from bot.errors import StorageUnavailable

log = logging.getLogger("fibrocircle.storage")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
BUSY_TIMEOUT_SECONDS = 5.0  # how long a write waits for another process's write to end
# How often at most the write-ahead log is copied into the database file, after writes.
CHECKPOINT_EVERY_SECONDS = 1.0
# Connections that only read, beside the one that writes (see `Reads`). Two on a 2-core machine:
# one slow search no longer holds every other read, and a third would only add searches competing
# for the same two cores (with the event loop and the process's other threads) and one more page
# cache in memory.
READERS = 2


try:  # the errors a statement can end in, on either backend
    from asyncpg import PostgresError as _PostgresError

    QUERY_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, _PostgresError)
except ImportError:  # pragma: no cover - asyncpg is a dependency; SQLite needs nothing else
    QUERY_ERRORS = (sqlite3.Error,)


def utcnow() -> str:
    """Timestamps are stored as ISO-8601 text in UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def discord_id(value: int | None) -> str | None:
    """An id as text for exported JSON: Discord ids exceed what JavaScript numbers hold exactly, and
    Discord itself sends them as text."""
    return None if value is None else str(value)


def list_migrations(folder: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        m = MIGRATION_NAME.match(path.name)
        if not m:
            raise RuntimeError(f"migration file {path.name} must be named NNNN_name.sql")
        found.append((int(m.group(1)), m.group(2), path))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two migration files share a number")
    return found


# SQLite's primary result codes for a database that cannot be written.
_STORAGE_FAILURES = {3: "SQLITE_PERM", 8: "SQLITE_READONLY", 10: "SQLITE_IOERR", 13: "SQLITE_FULL",
                     14: "SQLITE_CANTOPEN"}


def is_storage_failure(error: BaseException) -> bool:
    """Whether `error` says the database cannot be written (disk full, read-only, I/O), as opposed to
    a mistake in the SQL or a broken rule, which are bugs."""
    if isinstance(error, StorageUnavailable):
        return True
    if type(error).__module__.startswith("asyncpg"):
        from bot.storage_pg import is_pg_storage_failure

        return is_pg_storage_failure(error)
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.Error) and code is not None and (code & 0xFF) in _STORAGE_FAILURES


def open_database(target: str | Path) -> "Database":
    """The database `target` names, not yet opened: a postgresql:// URL (FIBRO_DATABASE_URL) is the
    PostgreSQL backend (bot/storage_pg.py), anything else a SQLite file."""
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        from bot.storage_pg import PostgresDatabase

        return PostgresDatabase(target)
    return Database(target)


class Database:
    """SQLite. The PostgreSQL backend (bot/storage_pg.py) has the same interface."""

    dialect = SQLITE

    def __init__(self, path: str | Path, *, readers: int = READERS):
        self.path = Path(path) if str(path) != ":memory:" else path
        self._conn: aiosqlite.Connection | None = None
        # Reads outside a transaction run on connections of their own (see `Reads`); an in-memory
        # database is one connection's own and has none.
        self._reader_count = readers if isinstance(self.path, Path) else 0
        self.readers: list[aiosqlite.Connection] = []
        self._reading: list[int] = []  # statements under way on each reader
        # One writer at a time inside this process; SQLite's busy timeout covers other processes.
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.Task | None = None  # the task inside transaction(), to catch nesting
        # Copies the write-ahead log into the database file, apart from the shared connection.
        self.checkpoint_every = CHECKPOINT_EVERY_SECONDS
        self._checkpointer: asyncio.Task | None = None
        self._wrote = asyncio.Event()     # a transaction committed since the last copy
        self._closing = asyncio.Event()
        # One checkpoint at a time in this process: SQLite answers a second one "busy" at once.
        self._checkpoint_lock = asyncio.Lock()

    @property
    def writer(self) -> aiosqlite.Connection:
        """The one connection that writes: transactions, and every statement that is not a read."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @property
    def conn(self) -> "Reads":
        """Statements outside a transaction, as `PostgresDatabase.conn`: reads on a reader, anything
        else, and reads of a task inside its own transaction, on the writer."""
        self.writer  # noqa: B018 - raises when not open
        return Reads(self)

    def _in_own_transaction(self) -> bool:
        task = self._writer
        return task is not None and task is asyncio.current_task()

    async def _read(self, sql: str, params: Iterable[Any]) -> list[sqlite3.Row]:
        """All the rows of a read, in one trip to the least busy reader. The statement runs to its
        end there, so the reader holds no snapshot of the database once it returns (a snapshot
        kept open would keep deleted text in the write-ahead log: see `checkpoint`)."""
        i = min(range(len(self._reading)), key=self._reading.__getitem__)
        self._reading[i] += 1
        try:
            return list(await self.readers[i].execute_fetchall(sql, tuple(params)))
        finally:
            self._reading[i] -= 1

    async def open(self) -> "Database":
        self._wrote, self._closing = asyncio.Event(), asyncio.Event()
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; we open them explicitly.
        self._conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        await self._conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        await self._while_locked(lambda: self._conn.execute("PRAGMA journal_mode=WAL"))
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, not just marked free: text a member withdrew or
        # asked to be forgotten must not stay readable in the file (see checkpoint() for the log).
        await self._conn.execute("PRAGMA secure_delete=ON")
        await self._while_locked(self.migrate)
        for _ in range(self._reader_count):
            reader = await aiosqlite.connect(str(self.path), isolation_level=None)
            reader.row_factory = sqlite3.Row
            await reader.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            await reader.execute("PRAGMA query_only=ON")  # a write sent here by mistake fails
            self.readers.append(reader)
            self._reading.append(0)
        if isinstance(self.path, Path):
            # SQLite copies the log into the database file inside whichever commit takes it past
            # 1,000 pages, and syncs the file to disk there: on the shared connection every read
            # queued behind that commit (every command's) waited for the disk, for a second and
            # more while the disk was busy. The copy runs on a connection of its own instead.
            await self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = asyncio.create_task(self._checkpoint_in_background(),
                                                     name="fibrocircle-checkpointer")
        return self

    def sibling(self) -> "Database":
        """Another Database on the same storage, as a second process would open it (not yet open)."""
        return Database(self.path, readers=self._reader_count)

    async def _while_locked(self, step) -> Any:
        """Run a start-up step again while another process opening the same file holds the lock it
        needs: switching to WAL and the first schema statements can fail at once ("database is
        locked") instead of waiting. Each step is safe to repeat; the busy timeout bounds the wait."""
        deadline = asyncio.get_running_loop().time() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                return await step()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self._checkpointer is not None:
            task, self._checkpointer = self._checkpointer, None
            self._closing.set()  # a copy under way finishes first: its thread cannot be stopped
            await task
        readers, self.readers, self._reading = self.readers, [], []
        for reader in readers:  # reads under way finish first
            await reader.close()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            async with self._write_lock:
                await conn.close()

    async def __aenter__(self) -> "Database":
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- migrations -----------------------------------------------------------------
    async def migrate(self) -> list[int]:
        """Apply every migration not yet recorded; each in its own transaction."""
        await self.writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = await self.fetchall("SELECT version FROM schema_migrations")
        done = {r["version"] for r in rows}
        applied = []
        for version, name, path in list_migrations():
            if version in done:
                continue
            sql = path.read_text(encoding="utf-8")
            async with self.transaction() as tx:
                # Another process may have applied it since the list was read: the check inside
                # the write lock is the one that counts, so that each migration runs once.
                async with tx.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)) as cur:
                    if await cur.fetchone() is not None:
                        continue
                # executescript would COMMIT on its own; run statement by statement instead.
                for statement in _split_sql(sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, utcnow()),
                )
            applied.append(version)
        return applied

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"] or 0)

    # -- queries --------------------------------------------------------------------
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @contextlib.asynccontextmanager
    async def transaction(self, *, serial: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception. Committed when the block ends.
        SQLite runs one write transaction at a time whatever `serial` says (see PostgresDatabase)."""
        task = asyncio.current_task()
        if task is not None and self._writer is task:
            # The lock is not re-entrant: waiting here would wait forever. Pass the open `tx` down instead.
            raise RuntimeError("transaction() called inside a transaction of the same task")
        async with self._write_lock:
            self._writer = task
            try:
                await self._storage_step(self._begin_immediate)
                try:
                    yield self.writer
                except BaseException as error:
                    with contextlib.suppress(sqlite3.Error):  # a failed write may have ended it already
                        await self.writer.execute("ROLLBACK")
                    if is_storage_failure(error):
                        log.warning("the database can't be written: %s", error)
                        raise StorageUnavailable() from error
                    raise
                else:
                    try:
                        await self._storage_step("COMMIT")
                    except StorageUnavailable:
                        with contextlib.suppress(sqlite3.Error):
                            await self.writer.execute("ROLLBACK")
                        raise
                    self._wrote.set()
            finally:
                self._writer = None

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """One process at a time, across every process on this database, runs the block: the
        start-up work (loading the articles, re-tagging, command sync) of processes started
        together. A lock file beside the database (`flock`), freed when the block ends or the
        process dies; an in-memory database is one process's own."""
        if not isinstance(self.path, Path):
            yield
            return
        import fcntl

        fd = os.open(self.path.with_name(f"{self.path.name}.{name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    async def _begin_immediate(self) -> None:
        """BEGIN IMMEDIATE, waiting for another process's write to end. SQLite's busy timeout covers
        most waits, but it answers "locked" at once (without waiting) when this connection still
        holds a read from a statement not yet reset; such a read ends soon, so try again for as long
        as the busy timeout would have waited."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_TIMEOUT_SECONDS
        pause = 0.005
        while True:
            try:
                await self.writer.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or loop.time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)

    async def _storage_step(self, step: str | Callable[[], Awaitable[None]]) -> None:
        """Run a statement (or `_begin_immediate`), telling a database that cannot be written apart
        from a bug: the first becomes StorageUnavailable."""
        try:
            if isinstance(step, str):
                await self.writer.execute(step)
            else:
                await step()
        except sqlite3.Error as error:
            if is_storage_failure(error):
                log.warning("the database can't be written: %s", error)
                raise StorageUnavailable() from error
            raise

    async def write_problem(self) -> str | None:
        """None when the database can be written; otherwise what SQLite said. Writes a row and rolls
        it back, so nothing changes."""
        try:
            async with self._write_lock:
                await self.writer.execute("BEGIN IMMEDIATE")
                try:
                    await self.writer.execute("CREATE TABLE write_check(x)")
                    await self.writer.execute("INSERT INTO write_check VALUES (zeroblob(65536))")
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        await self.writer.execute("ROLLBACK")
        except sqlite3.Error as error:
            return str(error)
        return None

    async def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file and empty it (wal_checkpoint(TRUNCATE)).

        secure_delete zeroes deleted text in the database file, but the -wal file still holds
        copies of pages from before the deletion until they are checkpointed, and keeps old frames
        on disk until it is truncated. Call this after committing a deletion that must leave no
        trace (a withdrawn post, a forgotten member). A checkpoint cannot run inside a transaction:
        it waits for this connection's current one to end, and calling it from inside one raises
        RuntimeError. Returns False when another connection was reading and the log could not be
        emptied completely; the next checkpoint (or closing the database) finishes the job.
        """
        task = asyncio.current_task()
        if task is not None and self._writer is task:
            raise RuntimeError("checkpoint() called inside a transaction: call it after the commit")
        async with self._write_lock, self._checkpoint_lock:
            try:
                if isinstance(self.path, Path):
                    row = await asyncio.to_thread(self._checkpoint_apart)
                else:  # an in-memory database has no log and no other connection
                    row = await self.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as error:  # the deletion is committed; the next checkpoint finishes it
                if not is_storage_failure(error):
                    raise
                log.warning("the write-ahead log could not be emptied: %s", error)
                return False
        return row is not None and row[0] == 0

    def _checkpoint_apart(self) -> tuple[int, int, int] | None:
        """The checkpoint on a short-lived connection of its own: on the shared one, a statement of
        another task not yet finished (a cursor still open) makes SQLite refuse it at once with
        "database table is locked"; from here that read is just another reader, waited for up to
        the busy timeout."""
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            return conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()

    async def _checkpoint_in_background(self) -> None:
        """After writes, at most every `checkpoint_every` seconds: copy the write-ahead log into the
        database file (PRAGMA wal_checkpoint(PASSIVE)) on a connection of its own, in a thread, so
        that no read or write of the shared connection waits for it. PASSIVE never waits for a
        reader or a writer (of this process or another); what it could not copy, the next one does.
        Every 30 s it runs even without a write here (a write outside transaction(), or another
        process's)."""
        conn: sqlite3.Connection | None = None
        try:
            conn = await asyncio.to_thread(sqlite3.connect, str(self.path), timeout=BUSY_TIMEOUT_SECONDS,
                                           isolation_level=None, check_same_thread=False)
            while not self._closing.is_set():
                await _wait(30.0, self._wrote, self._closing)
                if self._closing.is_set():
                    break
                self._wrote.clear()
                async with self._checkpoint_lock:
                    try:
                        await asyncio.to_thread(_copy_log, conn)
                    except sqlite3.Error as error:  # the log stays as it is; the next round tries again
                        log.warning("the write-ahead log could not be copied into the database: %s", error)
                await _wait(self.checkpoint_every, self._closing)
        except Exception:  # noqa: BLE001 - logged; SQLite's own checkpoint when the last connection closes remains
            log.exception("copying the write-ahead log into the database stopped")
        finally:
            if conn is not None:
                conn.close()

    async def integrity_check(self) -> str:
        return str(await self.fetchval("PRAGMA integrity_check"))

    def on_notice(self, channel: str, handler: Callable[[str | None], None]) -> None:
        """Other processes' notices reach this process on PostgreSQL only (LISTEN/NOTIFY); on SQLite
        there are none, and nothing is called."""

    async def notify(self, tx: Any, channel: str, payload: str) -> None:
        """Tell the other processes on this database, when `tx` commits (PostgreSQL only)."""

    async def get_meta(self, key: str) -> str | None:
        return await self.fetchval("SELECT value FROM meta WHERE key = ?", (key,))

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


_WRITE_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


def _is_read(sql: str) -> bool:
    """A SELECT (or a WITH ... SELECT): a statement a reader can run."""
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or (head.startswith("WITH") and _WRITE_WORDS.search(sql) is None)


class FetchedRows:
    """A statement's rows, already fetched, read as a cursor: what `Reads.execute` gives on SQLite,
    and the base of the PostgreSQL backend's cursor. `rowcount` is -1 for a read."""

    __slots__ = ("rows", "rowcount", "_next")

    def __init__(self, rows: list, rowcount: int = -1):
        self.rows, self.rowcount, self._next = rows, rowcount, 0

    async def fetchone(self) -> Any:
        if self._next >= len(self.rows):
            return None
        self._next += 1
        return self.rows[self._next - 1]

    async def fetchall(self) -> list:
        rest, self._next = self.rows[self._next:], len(self.rows)
        return rest

    async def close(self) -> None:
        pass

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        while (row := await self.fetchone()) is not None:
            yield row


class _ReadStatement:
    """`await conn.execute(...)` and `async with conn.execute(...) as cur`, as with aiosqlite."""

    __slots__ = ("_run",)

    def __init__(self, run: Callable[[], Awaitable[FetchedRows]]):
        self._run = run

    def __await__(self):
        return self._run().__await__()

    async def __aenter__(self) -> FetchedRows:
        return await self._run()

    async def __aexit__(self, *exc: object) -> bool:
        return False


class Reads:
    """`db.conn` on SQLite: each read on one of the database's readers, so that a slow search holds
    no other member's reply (WAL lets readers run beside each other and beside the writer, each
    aiosqlite connection in its own thread). A read sees what was committed when it started.

    On the writer instead: a task's reads inside its own `transaction()` (they must see its
    uncommitted writes), every statement that is not a SELECT (a write outside a transaction
    commits on its own, as before), and everything when there are no readers (in memory)."""

    __slots__ = ("_db",)

    def __init__(self, db: Database):
        self._db = db

    def _on_writer(self, sql: str) -> bool:
        db = self._db
        return not db.readers or db._in_own_transaction() or not _is_read(sql)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        if self._on_writer(sql):
            return self._db.writer.execute(sql, tuple(params))

        async def run() -> FetchedRows:
            return FetchedRows(await self._db._read(sql, params))
        return _ReadStatement(run)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> Iterable[sqlite3.Row]:
        if self._on_writer(sql):
            return await self._db.writer.execute_fetchall(sql, tuple(params))
        return await self._db._read(sql, params)

    async def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> Any:
        return await self._db.writer.executemany(sql, seq)

    @property
    def in_transaction(self) -> bool:
        """True only inside the calling task's own transaction (where `audit.record` may write)."""
        return self._db._in_own_transaction() and self._db.writer.in_transaction


async def _wait(seconds: float, *events: asyncio.Event) -> None:
    """Until one of `events` is set, or `seconds` have passed."""
    if any(event.is_set() for event in events):
        return
    waiters = {asyncio.ensure_future(event.wait()) for event in events}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _copy_log(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """A passive checkpoint: (busy, frames in the log, frames copied into the database file)."""
    cursor = conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    try:
        return cursor.fetchone()
    finally:
        cursor.close()  # an open statement would keep a read of the log, which a TRUNCATE waits for


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping CREATE TRIGGER ... END bodies whole."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements
