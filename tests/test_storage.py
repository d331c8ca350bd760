"""The SQLite Database: emptying the write-ahead log while reads of the shared connection are open."""

from __future__ import annotations

from support import files_holding


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
