"""The SQLite Database: emptying the write-ahead log while reads are open, and reads on connections
of their own beside the writer."""

from __future__ import annotations

import asyncio
import threading

from support import files_holding, wait_for


async def test_a_checkpoint_runs_while_a_read_of_the_shared_connection_is_still_open(db):
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                             [(f"k{i}", f"withdrawn text {i}") for i in range(50)])
    cursor = await db.writer.execute("SELECT key FROM meta ORDER BY key")
    assert await cursor.fetchone() is not None      # the statement stays open, as another task's read
    # On the shared connection SQLite refused this at once: "database table is locked".
    assert await db.checkpoint() in (True, False)
    await cursor.close()
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM meta WHERE key LIKE 'k%'")
    assert await db.checkpoint() is True
    assert files_holding(db, "withdrawn text") == []


async def test_a_commit_leaves_the_log_as_it_is(db, monkeypatch):
    from bot import storage

    monkeypatch.setattr(storage, "_copy_log", lambda conn: (0, 0, 0))  # the copy in the background does nothing
    # Far more than the 1,000 pages past which SQLite's own checkpoint ran inside the commit, on the
    # shared connection every command's read waits for.
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                             [(f"k{i}", f"platypus {i} " + "x" * 4000) for i in range(2000)])
    assert await db.fetchval("PRAGMA wal_autocheckpoint") == 0
    assert files_holding(db, "platypus 1999") == ["test.db-wal"], "the commit itself copied nothing"


async def test_writes_reach_the_database_file_without_a_checkpoint_being_asked_for(db):
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                             [(f"k{i}", f"echidna {i} " + "x" * 4000) for i in range(2000)])
    await wait_for(lambda: "test.db" in files_holding(db, "echidna 1999"))
    # Copied without waiting for the reads and writes that go on meanwhile on the shared connection.
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO meta(key, value) VALUES ('later', 'numbat')")
    assert await db.fetchval("SELECT value FROM meta WHERE key = 'later'") == "numbat"
    await wait_for(lambda: "test.db" in files_holding(db, "numbat"))


async def test_a_read_held_up_on_one_reader_holds_no_other_read(db):
    entered, release = threading.Event(), threading.Event()

    def hold() -> int:  # a slow search, held until the test lets it go
        entered.set()
        release.wait(30)
        return 1

    for reader in db.readers:  # only the readers know it: a read sent to the writer would fail
        await reader.create_function("hold", 0, hold)
    await db.set_meta("k", "v")
    slow = asyncio.create_task(db.fetchval("SELECT hold()"))
    try:
        assert await asyncio.to_thread(entered.wait, 30)
        # Other reads are answered while the slow one runs (on the other reader).
        assert await db.get_meta("k") == "v"
        assert [await db.fetchval("SELECT ?", (n,)) for n in range(3)] == [0, 1, 2]
        async with db.transaction() as tx:  # and so are writes
            await tx.execute("UPDATE meta SET value = 'w' WHERE key = 'k'")
        assert await db.get_meta("k") == "w"
        assert not slow.done()
    finally:
        release.set()
    assert await slow == 1


async def test_a_transaction_reads_its_own_writes_and_other_tasks_read_what_was_committed(db):
    await db.set_meta("k", "old")
    async with db.transaction() as tx:
        await tx.execute("UPDATE meta SET value = 'new' WHERE key = 'k'")
        assert await db.get_meta("k") == "new", "the transaction's own task reads on the writer"
        assert await asyncio.create_task(db.get_meta("k")) == "old", "another task reads what was committed"
        assert db.conn.in_transaction and not await asyncio.create_task(_in_transaction(db))
    assert await db.get_meta("k") == "new"


async def _in_transaction(db) -> bool:
    return db.conn.in_transaction


async def test_a_write_sent_outside_a_transaction_goes_to_the_writer(db):
    await db.conn.execute("INSERT INTO meta(key, value) VALUES ('a', 'b')")
    assert await db.get_meta("a") == "b"
    for reader in db.readers:
        assert [tuple(r) for r in await reader.execute_fetchall("PRAGMA query_only")] == [(1,)]
