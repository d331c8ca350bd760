"""The PostgreSQL backend, chosen by FIBRO_DATABASE_URL=postgresql://...: the same `Database`
interface as SQLite (bot/storage.py) over an asyncpg pool, with its own numbered migrations in
bot/migrations/postgres/.

The core writes its SQL once, with `?` placeholders; `translate` numbers them ($1, $2, ...) for
PostgreSQL, skipping quoted text and comments. What differs between the engines beyond that is in
bot/dialect.py.

Several processes share one database:
- `transaction()` takes a transaction-level advisory lock first, so write transactions run one
  at a time across every process, as they do on SQLite (the core reads and then writes inside a
  transaction, and counts on nobody writing in between). `transaction(serial=False)` skips it for
  blocks that lock their own rows: the job leases (bot/posts/jobs.py), whose SELECT ... FOR UPDATE
  SKIP LOCKED passes over rows another process is leasing.
- `migrate()` and `exclusive(name)` hold a session-level advisory lock (`pg_advisory_lock`), so
  migrations and the one-off start-up work run in one process at a time.
- `notify(tx, channel, payload)` is sent when the transaction commits (`pg_notify`) and every
  process's handlers registered with `on_notice(channel, handler)` receive it through LISTEN (the
  per-server settings cache is cleared this way).

What deletion means on PostgreSQL. SQLite overwrites deleted rows with zeros (secure_delete) and
the bot empties SQLite's write-ahead log after a deletion. PostgreSQL has no secure_delete: a DELETE
or UPDATE leaves the old row version in its page until VACUUM removes it. After a post is withdrawn
and after Forget me the bot runs VACUUM on the tables that held the member's text and then asks for
a CHECKPOINT (allowed to superusers and members of pg_checkpoint; without that right the next
scheduled checkpoint, by default within 5 minutes, writes the cleaned pages), after which the
tables' data files no longer hold the text (tests/test_storage_pg.py looks for it in the files).
What this does not reach: the write-ahead log keeps the text until its segments are recycled after
later checkpoints, and streaming replicas, WAL archives and backups keep it for as long as they are
kept. A deployment that must promise more has to limit how long it keeps WAL archives and backups.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import zlib
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable

import asyncpg

from bot.dialect import POSTGRES
from bot.errors import StorageUnavailable
from bot.storage import MIGRATIONS_DIR, Database, FetchedRows, list_migrations, utcnow

log = logging.getLogger("fibrocircle.storage")

PG_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgres"
POOL_MIN, POOL_MAX = 2, 10
# The tables that hold text a member can withdraw or ask to be forgotten (see the module's docstring).
MEMBER_TEXT_TABLES = ("posts", "article_uploads", "post_events", "audit_log", "quote_seen", "topic_tags")


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for a name (the same in every process)."""
    return zlib.crc32(f"fibrocircle:{name}".encode())


WRITE_LOCK = lock_key("write")
MIGRATE_LOCK = lock_key("migrate")
# BEGIN and the write lock in one trip to the server (a simple query may hold several statements).
_BEGIN_SERIAL = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` placeholders numbered for PostgreSQL ($1, $2, ...). A `?` inside '...' or "..." or a
    comment (-- to the end of the line, /* */) is left as it is."""
    out: list[str] = []
    n = 0
    i, end = 0, len(sql)
    while i < end:
        ch = sql[i]
        if ch in ("'", '"'):
            close = i + 1
            while True:
                close = sql.find(ch, close)
                if close == -1:
                    close = end
                    break
                if close + 1 < end and sql[close + 1] == ch:  # '' inside a literal
                    close += 2
                    continue
                break
            out.append(sql[i:close + 1])
            i = close + 1
        elif ch == "-" and sql.startswith("--", i):
            close = sql.find("\n", i)
            close = end if close == -1 else close
            out.append(sql[i:close])
            i = close
        elif ch == "/" and sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            close = end if close == -1 else close + 2
            out.append(sql[i:close])
            i = close
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _returns_rows(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in ("SELECT", "WITH", "VALUES", "SHOW") or " RETURNING " in sql.upper().replace("\n", " ")


# asyncpg's errors that say the database cannot be reached or written, as opposed to a bug.
_FAILURE_STATES = ("08", "53", "57P", "58")  # connection, insufficient resources, shutdown, system error


def is_pg_storage_failure(error: BaseException) -> bool:
    if isinstance(error, (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.InterfaceError,
                          asyncpg.exceptions.ReadOnlySQLTransactionError, ConnectionError, OSError)):
        return True
    state = getattr(error, "sqlstate", None) or ""
    return isinstance(error, asyncpg.PostgresError) and state.startswith(_FAILURE_STATES)


class Cursor(FetchedRows):
    """What a statement gave: its rows (asyncpg Records, read by name or position like sqlite3.Row)
    and how many rows it changed. There is no lastrowid: ask with RETURNING."""

    __slots__ = ()

    @property
    def lastrowid(self) -> int:
        raise AttributeError("PostgreSQL has no lastrowid: add RETURNING id to the statement")


class _Statement:
    """`await conn.execute(...)` and `async with conn.execute(...) as cur`, as with aiosqlite."""

    __slots__ = ("_run", "_cursor")

    def __init__(self, run: Callable[[], Any]):
        self._run = run
        self._cursor: Cursor | None = None

    def __await__(self):
        return self._run().__await__()

    async def __aenter__(self) -> Cursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> bool:
        return False


async def _run(conn: asyncpg.Connection, sql: str, params: Iterable[Any]) -> Cursor:
    query = translate(sql)
    args = tuple(params)
    if _returns_rows(query):
        rows = await conn.fetch(query, *args)
        return Cursor(rows, len(rows))
    status = await conn.execute(query, *args)
    last = status.rsplit(" ", 1)[-1] if status else ""
    return Cursor([], int(last) if last.isdigit() else -1)


class PgConnection:
    """One pooled connection inside a transaction, with the calls the core makes on a SQLite
    connection: execute (awaitable or `async with`), executemany, execute_fetchall."""

    in_transaction = True

    def __init__(self, conn: asyncpg.Connection):
        self.raw = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Statement:
        return _Statement(lambda: _run(self.raw, sql, params))

    async def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> None:
        rows = [tuple(p) for p in seq]
        if rows:
            await self.raw.executemany(translate(sql), rows)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list:
        return (await _run(self.raw, sql, params)).rows


class PoolReader:
    """`db.conn` on PostgreSQL: each statement on a connection from the pool (reads outside a
    transaction; writes belong in `transaction()`)."""

    in_transaction = False

    def __init__(self, db: "PostgresDatabase"):
        self._db = db

    async def _on_pool(self, sql: str, params: Iterable[Any]) -> Cursor:
        async with self._db.pool.acquire() as conn:
            return await _run(conn, sql, params)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Statement:
        return _Statement(lambda: self._on_pool(sql, params))

    async def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> None:
        async with self._db.transaction() as tx:
            await tx.executemany(sql, seq)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list:
        return (await self._on_pool(sql, params)).rows


async def _roll_back(conn: asyncpg.Connection) -> None:
    if conn.is_in_transaction():
        with contextlib.suppress(Exception):
            await conn.execute("ROLLBACK")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it is: asyncpg's default reset (RESET ALL, UNLISTEN *,
    pg_advisory_unlock_all(), CLOSE ALL) is one more trip to the server on every release, for
    session state the bot never leaves behind. An open transaction is still rolled back by asyncpg
    itself; a session lock whose unlock failed goes with its connection (`_unlock_or_drop`)."""


async def _unlock_or_drop(conn: Any, key: int) -> None:
    """Free a session-level advisory lock; when that fails, close the connection (which frees the
    lock) so that it does not go back to the pool still holding it."""
    try:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
    except BaseException as error:
        conn.terminate()
        if not isinstance(error, Exception):
            raise


class PostgresDatabase(Database):
    """The `Database` interface on PostgreSQL (see the module's docstring)."""

    dialect = POSTGRES

    def __init__(self, url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX):
        self.url = url
        self.path = None
        self._min_size, self._max_size = min_size, max_size
        self._pool: asyncpg.Pool | None = None
        self._writers: set[asyncio.Task] = set()
        # Serial transactions of this process wait here, holding no pooled connection, so that the
        # one holding the write lock can always get a second connection for its reads.
        self._write_lock = asyncio.Lock()
        self._handlers: dict[str, list[Callable[[str | None], None]]] = {}
        self._listener: asyncpg.Connection | None = None
        self._listen_task: asyncio.Task | None = None
        self._closing = False
        self._listen_wanted = False

    def sibling(self) -> "PostgresDatabase":
        return PostgresDatabase(self.url, min_size=self._min_size, max_size=self._max_size)

    def __repr__(self) -> str:
        return "PostgresDatabase(" + _without_password(self.url) + ")"

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        if self._listen_wanted:  # a handler was named outside the event loop: listen from its first use
            self._listen_wanted = False
            self._start_listening()
        return self._pool

    @property
    def conn(self) -> PoolReader:  # type: ignore[override]
        self.pool  # noqa: B018 - raises when not open
        return PoolReader(self)

    async def open(self) -> "PostgresDatabase":
        self._closing = False
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=self._min_size, max_size=self._max_size,
                                                   reset=_keep_session)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("PostgreSQL at %s can't be reached: %s", _without_password(self.url), error)
            raise StorageUnavailable() from error
        await self.migrate()
        if self._handlers:
            await self._listen()
        return self

    async def close(self) -> None:
        self._closing = True
        if self._listen_task is not None:
            self._listen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listen_task
            self._listen_task = None
        if self._listener is not None:
            listener, self._listener = self._listener, None
            with contextlib.suppress(Exception):
                await listener.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    # -- migrations -----------------------------------------------------------------
    async def migrate(self) -> list[int]:
        """Apply every migration of bot/migrations/postgres not yet recorded, each in its own
        transaction, holding an advisory lock so that one process at a time migrates."""
        applied = []
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
                done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                for version, name, path in list_migrations(PG_MIGRATIONS_DIR):
                    if version in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(path.read_text(encoding="utf-8"))  # a script: several statements
                        await conn.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)",
                                           version, name, utcnow())
                    applied.append(version)
            finally:
                await _unlock_or_drop(conn, MIGRATE_LOCK)
        return applied

    # -- queries --------------------------------------------------------------------
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list:
        async with self.pool.acquire() as conn:
            return await conn.fetch(translate(sql), *tuple(params))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(translate(sql), *tuple(params))

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(translate(sql), *tuple(params))

    @contextlib.asynccontextmanager
    async def transaction(self, *, serial: bool = True) -> AsyncIterator[PgConnection]:
        """BEGIN ... COMMIT on a pooled connection; rolled back on any exception. With `serial` (the
        default) write transactions of every process run one at a time (see the module's docstring)."""
        task = asyncio.current_task()
        if task is not None and task in self._writers:
            raise RuntimeError("transaction() called inside a transaction of the same task")
        if task is not None:
            self._writers.add(task)
        serial_here = self._write_lock if serial else contextlib.nullcontext()
        try:
            async with serial_here:
                async with self._transaction(serial) as tx:
                    yield tx
        finally:
            if task is not None:
                self._writers.discard(task)

    @contextlib.asynccontextmanager
    async def _transaction(self, serial: bool) -> AsyncIterator[PgConnection]:
        """The transaction itself, on a connection of the pool."""
        try:
            conn = await self.pool.acquire()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            if not is_pg_storage_failure(error):
                raise
            log.warning("the database can't be written: %s", error)
            raise StorageUnavailable() from error
        try:
            try:
                await self._storage_step(conn.execute(_BEGIN_SERIAL if serial else "BEGIN"))
            except BaseException:
                await _roll_back(conn)
                raise
            try:
                yield PgConnection(conn)
            except BaseException as error:
                await _roll_back(conn)
                if is_pg_storage_failure(error):
                    log.warning("the database can't be written: %s", error)
                    raise StorageUnavailable() from error
                raise
            else:
                try:
                    await self._storage_step(conn.execute("COMMIT"))
                except StorageUnavailable:
                    await _roll_back(conn)
                    raise
        finally:
            await self.pool.release(conn)

    async def _storage_step(self, step: Any) -> None:  # type: ignore[override]
        try:
            await step
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            if is_pg_storage_failure(error):
                log.warning("the database can't be written: %s", error)
                raise StorageUnavailable() from error
            raise

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """One process at a time runs the block, across every process on this database: a
        session-level advisory lock, freed when the block ends or the connection is lost."""
        key = lock_key(f"exclusive:{name}")
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", key)
            try:
                yield
            finally:
                await _unlock_or_drop(conn, key)

    async def write_problem(self) -> str | None:
        """None when the database can be written; otherwise what PostgreSQL said. Writes a row and
        rolls it back, so nothing changes."""
        try:
            async with self.pool.acquire() as conn:
                tr = conn.transaction()
                await tr.start()
                try:
                    await conn.execute("CREATE TABLE write_check(x bytea)")
                    await conn.execute("INSERT INTO write_check VALUES (decode(repeat('00', 65536), 'hex'))")
                finally:
                    await tr.rollback()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            return str(error)
        return None

    async def checkpoint(self) -> bool:
        """VACUUM the tables that hold members' text, after a withdrawal or Forget me: the deleted
        row versions are removed now, not whenever autovacuum comes by (see the module's docstring
        for what this does not reach). Returns False when VACUUM could not run; the deletion itself
        is committed either way, and autovacuum removes the old versions later."""
        task = asyncio.current_task()
        if task is not None and task in self._writers:
            raise RuntimeError("checkpoint() called inside a transaction: call it after the commit")
        try:
            async with self.pool.acquire() as conn:
                await conn.execute("VACUUM " + ", ".join(MEMBER_TEXT_TABLES))
                try:  # the cleaned pages to disk now (allowed to superusers and pg_checkpoint)
                    await conn.execute("CHECKPOINT")
                except asyncpg.InsufficientPrivilegeError:
                    pass  # the next scheduled checkpoint writes them (checkpoint_timeout)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("VACUUM after a deletion did not run: %s", error)
            return False
        return True

    async def integrity_check(self) -> str:
        """PostgreSQL checks its own pages as it reads them; this says whether it answers."""
        return "ok" if await self.fetchval("SELECT 1") == 1 else "no answer"

    # -- LISTEN / NOTIFY ----------------------------------------------------------------
    def on_notice(self, channel: str, handler: Callable[[str | None], None]) -> None:
        """Call `handler(payload)` for each `notify` on `channel` by any process (this one too);
        `handler(None)` when notices may have been missed (the listening connection was lost)."""
        first = channel not in self._handlers
        self._handlers.setdefault(channel, []).append(handler)
        if not first or self._pool is None:
            return  # open() listens on every channel named before it
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._listen_wanted = True
            return
        self._start_listening(channel)

    def _start_listening(self, channel: str | None = None) -> None:
        loop = asyncio.get_running_loop()
        if self._listener is not None:
            if channel is not None:
                loop.create_task(self._listener.add_listener(channel, self._received))
        elif self._listen_task is None or self._listen_task.done():
            self._listen_task = loop.create_task(self._listen_again())

    async def listening(self) -> None:
        """Wait until this process listens for notices (open() or the first on_notice starts it)."""
        while self._listener is None and not self._closing:
            if self._listen_task is None or self._listen_task.done():
                await self._listen_again()
            else:
                await asyncio.shield(self._listen_task)

    async def notify(self, tx: PgConnection, channel: str, payload: str) -> None:
        """Sent to every listening process when `tx` commits (nothing when it rolls back)."""
        await tx.execute("SELECT pg_notify(?, ?)", (channel, payload))

    def _received(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        for handler in self._handlers.get(channel, ()):
            try:
                handler(payload)
            except Exception:  # one handler's bug must not stop the others
                log.exception("handling a notice on %s failed", channel)

    def _missed(self) -> None:
        for handlers in self._handlers.values():
            for handler in handlers:
                with contextlib.suppress(Exception):
                    handler(None)

    async def _listen(self) -> None:
        listener = await asyncpg.connect(self.url)
        for channel in self._handlers:
            await listener.add_listener(channel, self._received)
        listener.add_termination_listener(lambda conn: self._lost())
        self._listener = listener

    def _lost(self) -> None:
        if self._closing:
            return
        log.warning("the connection listening for other processes' changes was lost; listening again")
        self._listener = None
        self._missed()
        self._listen_task = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        pause = 0.5
        while not self._closing:
            try:
                await self._listen()
                self._missed()  # whatever changed while nobody listened
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)


def _without_password(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"


def is_postgres_url(value: str | Path | None) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))
