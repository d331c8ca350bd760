"""What the bot keeps about a member, in every server: a copy of it (`export_member_data`) and its
deletion (`forget_member`); what it keeps about a server it has left, deleted after a grace period
(`forget_departed_guilds`); and how long the audit log is kept (`prune_audit_log`). Each module
exports and deletes its own rows (posts, the audit log, server settings, /quote's memory, the
library); this one combines them, and is the only place that does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from bot import audit, guild_settings, library, quotes
from bot.posts.members import export_member_posts, forget_member_posts
from bot.posts.model import ForgetReport
from bot.posts.jobs import prune_removal_notices, removal_notices
from bot.posts.members import forget_guild_posts
from bot.shards import OwnShards
from bot.storage import Database, discord_id, utcnow

# A server that removes the bot keeps its data this long, in case the bot is added back (an admin's
# mistake, or a kick to fix permissions); after it, everything the bot kept about the server goes.
GUILD_GRACE = timedelta(days=30)
# The audit log (who did what, never a post's text) is kept a year: long enough for a server's staff
# to look back over a full year of decisions, blocks and setting changes when a member appeals or
# asks who changed the crisis resources, and short enough that no record of a member outlives it.
AUDIT_RETENTION = timedelta(days=365)


def _iso(moment: datetime) -> str:
    # The shape of storage.utcnow(), so that stored times compare correctly as text.
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _now(now: datetime | None) -> datetime:
    return datetime.now(timezone.utc) if now is None else now


async def export_member_data(db: Database, user_id: int) -> dict[str, Any]:
    """Everything the bot keeps about one member, in every server, as JSON-ready data."""
    conn = db.conn
    own_posts = await export_member_posts(conn, user_id)
    return {
        "user_id": discord_id(user_id),
        "generated_at": utcnow(),
        **own_posts,
        "server_settings_you_changed": await guild_settings.export_member_changes(conn, user_id),
        "your_actions_in_the_audit_log": await audit.export_member_rows(conn, user_id),
        **await quotes.export_member_rows(conn, user_id),
        **await library.export_member_rows(conn, user_id),
        "messages_being_removed_from_discord": [
            {"server_id": discord_id(n.guild_id), "post_number": n.post_number, "messages": n.listed,
             "removed": n.removed, "could_not_be_removed_in_channels": [discord_id(c) for _, c in n.given_up],
             "since": n.created_at, "finished_at": n.finished_at}
            for n in await removal_notices(db, user_id)],
    }


async def forget_member(db: Database, user_id: int, *, now: datetime | str | None = None) -> ForgetReport:
    """Delete a member's posts and personal data in every server, in one transaction.

    Goes: their posts (text, name, hints, topic tags, history), the audit rows of what they did as a
    member, their /quote searches and history, article files of theirs waiting for confirmation,
    and their id everywhere. Stays, without their id or
    text: the staff actions they took (a moderator's decisions, an admin's setting changes, blocks),
    under a pseudonym such as "former member #3", the same for all of them; when they shared in the
    last 24 hours, by a keyed hash of their id, so that the cooldown and daily cap still hold; blocks
    placed on them (ids only, lifting them is the moderators' call); and one audit row saying that a
    deletion happened, with no id, no counts and no text. After the commit the write-ahead log is
    emptied, so that no copy of what was deleted stays in the files.
    """
    async with db.transaction() as tx:
        forgotten = await forget_member_posts(tx, user_id, now=now)
        row = await (await tx.execute("INSERT INTO forgotten_members(forgotten_at) VALUES (?) RETURNING number",
                                      (utcnow(),))).fetchone()
        await audit.forget_actor(tx, user_id, f"former member #{row[0]}")
        await guild_settings.forget_member(tx, user_id)
        await quotes.forget_member(tx, user_id)  # the searches they made and the quotes they were shown
        await library.forget_member(tx, user_id)  # article files waiting for their confirmation
        await audit.record(tx, guild_id=None, actor_id=None, action="member.forgotten")
    await db.checkpoint()  # the text goes from the database files too, not only from what SQL sees
    return forgotten


# -- servers the bot has left ----------------------------------------------------------------------

async def guild_left(db: Database, guild_id: int, *, now: datetime | None = None) -> None:
    """The bot was removed from a server: its data is deleted once GUILD_GRACE has passed. A second
    call keeps the first time (the grace period counts from the first removal)."""
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO departed_guilds(guild_id, left_at) VALUES (?, ?)"
                         " ON CONFLICT(guild_id) DO NOTHING", (guild_id, _iso(_now(now))))


async def guild_back(db: Database, guild_id: int) -> bool:
    """The bot is in the server again (added back, or the server was only unavailable): nothing of
    it is deleted. Returns whether a deletion was pending."""
    if await db.fetchone("SELECT 1 FROM departed_guilds WHERE guild_id = ?", (guild_id,)) is None:
        return False  # the common case, on every start-up: no write
    async with db.transaction() as tx:
        cursor = await tx.execute("DELETE FROM departed_guilds WHERE guild_id = ?", (guild_id,))
        return bool(cursor.rowcount)


async def departed_guilds(db: Database) -> dict[int, str]:
    """Servers the bot has left whose data is still kept, with when it left."""
    return {r["guild_id"]: r["left_at"] for r in await db.fetchall("SELECT guild_id, left_at FROM departed_guilds")}


async def guilds_with_data(db: Database, shards: OwnShards | None = None) -> set[int]:
    """Servers the bot keeps something about (settings, posts or audit rows); with `shards`, those
    of these shards only."""
    own, params = shards.where() if shards is not None else ("", [])
    found: set[int] = set()
    for table in ("guild_settings", "posts", "audit_log"):
        rows = await db.fetchall(f"SELECT DISTINCT guild_id FROM {table} WHERE guild_id IS NOT NULL{own}", params)
        found.update(r["guild_id"] for r in rows)
    return found


async def forget_guild(db: Database, guild_id: int) -> int:
    """Delete everything the bot keeps about one server, in one transaction: its posts and their
    history, settings, audit rows, /quote's memory, its own articles, blocks and the lists of its
    messages to delete. Returns how many posts went. The write-ahead log is emptied after the commit."""
    async with db.transaction() as tx:
        deleted = await forget_guild_posts(tx, guild_id)
        await guild_settings.forget_guild(tx, guild_id)
        await audit.forget_guild(tx, guild_id)
        await quotes.forget_guild(tx, guild_id)
        await library.forget_guild(tx, guild_id)
        await tx.execute("DELETE FROM departed_guilds WHERE guild_id = ?", (guild_id,))
        await audit.record(tx, guild_id=None, actor_id=None, action="guild.forgotten")
    await db.checkpoint()
    return deleted


@dataclass(frozen=True)
class Retention:
    """What one run of the retention job deleted."""
    guilds_forgotten: tuple[int, ...]
    audit_rows_pruned: int


async def run_retention(db: Database, *, now: datetime | None = None, shards: OwnShards | None = None) -> Retention:
    """The retention job, run by the post worker: servers left more than GUILD_GRACE ago are
    forgotten, and audit rows older than AUDIT_RETENTION pruned. With `shards`, only the servers of
    those shards (and, on shard 0's process, the rows of no server), so that with several processes
    each server is done by one; doing it twice deletes nothing more."""
    moment = _now(now)
    own, params = shards.where() if shards is not None else ("", [])
    rows = await db.fetchall(f"SELECT guild_id FROM departed_guilds WHERE left_at <= ?{own} ORDER BY guild_id",
                             (_iso(moment - GUILD_GRACE), *params))
    forgotten = []
    for row in rows:
        await forget_guild(db, row["guild_id"])
        forgotten.append(row["guild_id"])
    async with db.transaction() as tx:
        pruned = await audit.prune(tx, _iso(moment - AUDIT_RETENTION), where=own, params=params)
        await prune_removal_notices(tx, moment, where=own, params=params)
    if pruned:
        await db.checkpoint()
    return Retention(tuple(forgotten), pruned)


# What deleting a post or "Forget me" means for the text on each database backend: /privacy shows
# the one the bot runs on and the README says both, in the same words (a test holds them together).
DELETED_TEXT = {
    "sqlite": "Deleted text is overwritten in the bot's database files at once, not only hidden: no copy of it "
              "stays in them.",
    "postgres": "Deleted text is removed from the bot's database tables at once, from their files too, but "
                "PostgreSQL's write-ahead log keeps a copy until it is recycled, and replicas, log archives and "
                "backups keep one for as long as the bot's host keeps them.",
}


def deleted_text(database_url: str | None) -> str:
    """DELETED_TEXT for the backend the bot runs on: PostgreSQL when it has a database URL."""
    return DELETED_TEXT["postgres" if database_url else "sqlite"]
