"""What each member and channel was shown: so that "Another" does not repeat itself and a
channel is not given its last quote again; exported, forgotten and pruned for privacy."""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.quotes.model import QuoteNotFound, fetch_rows
from bot.storage import Database, discord_id, utcnow

log = logging.getLogger("bot.quotes")


async def seen_and_last(db: Database, guild_id: int, user_id: int, channel_id: int | None,
                   another_of: str | None) -> tuple[set[tuple[str, int]], tuple[str, int] | None]:
    """What this member was shown for the search `another_of` (when paging), and the last quote
    this channel was given."""
    selects, params = [], []
    if channel_id is not None:
        selects.append("SELECT * FROM (SELECT 'last' AS kind, source, item_id FROM quote_history"
                       " WHERE guild_id = ? AND channel_id = ? ORDER BY id DESC LIMIT 1) AS last_shown")
        params += [guild_id, channel_id]
    if another_of is not None:
        selects.append("SELECT 'seen' AS kind, source, item_id FROM quote_seen"
                       " WHERE guild_id = ? AND user_id = ? AND query_key = ?")
        params += [guild_id, user_id, another_of]
    seen, last = set(), None
    if selects:
        # What was shown is sometimes still being written (see `find_quotes`): wait for it.
        await records_written(db, guild_id)
        for kind, source, item_id in await fetch_rows(db, " UNION ALL ".join(selects), params):
            if kind == "last":
                last = (source, item_id)
            else:
                seen.add((source, item_id))
    return seen, last


async def record(db: Database, guild_id: int, user_id: int, channel_id: int | None, key: str,
                  shown: list[tuple[str, int]], *, fresh: bool) -> None:
    now = utcnow()
    async with db.transaction() as tx:
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


def record_in_background(db: Database, guild_id: int, *args, **kwargs) -> None:
    async def write() -> None:
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
