"""What each member and channel was shown: so that "Another" does not repeat itself and a
channel is not given its last quote again; exported, forgotten and pruned for privacy."""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, field
from typing import Any

from bot.quotes.model import QuoteNotFound, fetch_rows
from bot.storage import Database, discord_id, utcnow

log = logging.getLogger("bot.quotes")


# The kinds of rows a ShownQuery adds to a search's query (in its first column, where the other
# rows carry a topic name or NULL: no topic starts with "~").
LAST = "~last"
SEEN = "~seen"
_NO_TAG = "CAST(NULL AS REAL), CAST(NULL AS INTEGER), CAST(NULL AS TEXT), CAST(NULL AS INTEGER)"


@dataclass
class ShownQuery:
    """What a search needs to know of what was shown, asked in the search's own query: the rows
    of what this member was shown for the same search (when paging, `another_of`) and of the last
    quote the channel was given, as (kind, source, item_id, NULL, NULL, NULL, NULL), kind SEEN or
    LAST; and an SQL count of the member's seen quotes, for the candidate limits. The query
    fills in `seen` and `last`."""

    guild_id: int
    user_id: int
    channel_id: int | None
    another_of: str | None
    seen: set[tuple[str, int]] = field(default_factory=set)
    last: tuple[str, int] | None = None

    def rows_sql(self) -> tuple[list[str], list]:
        selects, params = [], []
        if self.channel_id is not None:
            selects.append(f"SELECT * FROM (SELECT '{LAST}', source, item_id, {_NO_TAG} FROM quote_history"
                           " WHERE guild_id = ? AND channel_id = ? ORDER BY id DESC LIMIT 1) AS last_shown")
            params += [self.guild_id, self.channel_id]
        if self.another_of is not None:
            selects.append(f"SELECT '{SEEN}', source, item_id, {_NO_TAG} FROM quote_seen"
                           " WHERE guild_id = ? AND user_id = ? AND query_key = ?")
            params += [self.guild_id, self.user_id, self.another_of]
        return selects, params

    def seen_count_sql(self) -> tuple[str, list]:
        """" + (how many the member was shown for the search)", or nothing when not paging."""
        if self.another_of is None:
            return "", []
        return (" + (SELECT COUNT(*) FROM quote_seen WHERE guild_id = ? AND user_id = ? AND query_key = ?)",
                [self.guild_id, self.user_id, self.another_of])

    async def ready(self, db: Database) -> None:
        """What was shown is sometimes still being written (see `find_quotes`): wait for it."""
        if self.channel_id is not None or self.another_of is not None:
            await records_written(db, self.guild_id)


async def record(db: Database, guild_id: int, user_id: int, channel_id: int | None, key: str,
                  shown: list[tuple[str, int]], *, fresh: bool) -> None:
    now = utcnow()
    # Only this member's rows change and nothing is read first: no need to wait for every other
    # write of every process (on PostgreSQL; SQLite has one writer whatever this says).
    async with db.transaction(serial=False) as tx:
        if fresh:
            await tx.execute(
                "DELETE FROM quote_seen WHERE guild_id = ? AND user_id = ? AND query_key = ?",
                (guild_id, user_id, key),
            )
        await tx.executemany(
            "INSERT INTO quote_seen(guild_id, user_id, query_key, source, item_id, shown_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(guild_id, user_id, key, source, item_id, now) for source, item_id in shown],
        )
        await tx.executemany(
            "INSERT INTO quote_history(guild_id, channel_id, user_id, source, item_id, shown_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(guild_id, channel_id, user_id, source, item_id, now) for source, item_id in shown],
        )


# Records of what was shown that are still being written, per database and server. A search that
# reads the history of its server waits for them first, so "Another" never repeats a quote and
# the channel tie-break sees the last one, however soon the next search comes.
_WRITING: "weakref.WeakKeyDictionary[Database, dict[int, set[asyncio.Task]]]" = weakref.WeakKeyDictionary()


# How long a record waits for the reply it belongs to before it is written anyway.
AFTER_REPLY_WAIT = 10.0


def record_in_background(db: Database, guild_id: int, *args, after: asyncio.Event | None = None, **kwargs) -> None:
    """Write the record in a task of its own; with `after`, once that event is set (the reply was
    sent: the member does not wait for the write), or after AFTER_REPLY_WAIT seconds at most."""
    async def write() -> None:
        if after is not None:
            try:
                await asyncio.wait_for(after.wait(), AFTER_REPLY_WAIT)
            except asyncio.TimeoutError:
                pass
        try:
            await record(db, guild_id, *args, **kwargs)
        except Exception:  # the reply was sent; at worst "Another" may offer this quote again
            log.warning("could not record which quotes were shown", exc_info=True)

    per_guild = _WRITING.setdefault(db, {})
    tasks = per_guild.setdefault(guild_id, set())
    task = asyncio.get_running_loop().create_task(write(), name="quotes-record")
    tasks.add(task)

    def done(t: asyncio.Task) -> None:
        tasks.discard(t)
        if not tasks and per_guild.get(guild_id) is tasks:
            del per_guild[guild_id]

    task.add_done_callback(done)


async def records_written(db: Database, guild_id: int | None = None) -> None:
    """Wait until every record of shown quotes started so far (in this server, or in all) is
    committed. The cog calls it before the database closes."""
    per_guild = _WRITING.get(db) or {}
    tasks = set(per_guild.get(guild_id, ())) if guild_id is not None else {t for ts in per_guild.values() for t in ts}
    if tasks:
        await asyncio.wait(tasks)


async def record_shared(db: Database, *, guild_id: int, channel_id: int, user_id: int, source: str,
                        item_id: int) -> None:
    """A quote shared to a channel ("Share here"): remembered like one shown there, so that the
    channel is not given it again by the next search."""
    if source not in ("comment", "post"):
        raise QuoteNotFound("That quote could not be found.")
    await records_written(db, guild_id)  # keep the channel's quotes in the order they were shown
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO quote_history(guild_id, channel_id, user_id, source, item_id, shown_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, channel_id, user_id, source, int(item_id), utcnow()),
        )


async def export_member_rows(conn: Any, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """What /quote remembers about a member, as JSON-ready data: kept so that "Another" does not
    repeat itself, and pruned after a few weeks."""
    searches = await conn.execute_fetchall(
        "SELECT DISTINCT guild_id, query_key FROM quote_seen WHERE user_id = ? ORDER BY guild_id, query_key",
        (user_id,),
    )
    shown = await conn.execute_fetchall(
        "SELECT guild_id, channel_id, source, item_id, shown_at FROM quote_history WHERE user_id = ? ORDER BY id",
        (user_id,),
    )
    return {
        "quote_searches_remembered": [{"server_id": discord_id(r["guild_id"]), "search": r["query_key"]}
                                      for r in searches],
        "quotes_shown_to_you": [
            {"server_id": discord_id(r["guild_id"]), "channel_id": discord_id(r["channel_id"]), "source": r["source"],
             "item_id": r["item_id"], "at": r["shown_at"]}
            for r in shown
        ],
    }


async def forget_member(tx, user_id: int) -> None:
    """Delete what quotes a member was shown, inside the caller's transaction ("forget me")."""
    await tx.execute("DELETE FROM quote_seen WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM quote_history WHERE user_id = ?", (user_id,))


async def forget_guild(tx, guild_id: int) -> None:
    """Delete what /quote remembers in a server the bot has left, inside the caller's transaction."""
    await tx.execute("DELETE FROM quote_seen WHERE guild_id = ?", (guild_id,))
    await tx.execute("DELETE FROM quote_history WHERE guild_id = ?", (guild_id,))


async def prune_history(db: Database, *, keep_days: int = 30) -> int:
    """Forget quote history older than `keep_days`; returns the rows removed."""
    cutoff = (datetime.now(timezone.utc) - timedelta(days=int(keep_days))).strftime("%Y-%m-%dT%H:%M:%S")
    async with db.transaction() as tx:
        a = await tx.execute("DELETE FROM quote_seen WHERE shown_at < ?", (cutoff,))
        b = await tx.execute("DELETE FROM quote_history WHERE shown_at < ?", (cutoff,))
        return (a.rowcount or 0) + (b.rowcount or 0)
