"""The SQLite Database: emptying the write-ahead log while reads of the shared connection are open."""

from __future__ import annotations

from support import files_holding, wait_for


async def test_a_checkpoint_runs_while_a_read_of_the_shared_connection_is_still_open(db):
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                             [(f"k{i}", f"withdrawn text {i}") for i in range(50)])
    cursor = await db.conn.execute("SELECT key FROM meta ORDER BY key")
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
