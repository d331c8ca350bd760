"""What the bot keeps about a member, in every server: a copy of it (`export_member_data`) and its
deletion (`forget_member`). Each module exports and deletes its own rows (posts, the audit log,
server settings, /quote's memory); this one combines them, and is the only place that does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import audit, guild_settings, library, quotes
from bot.posts.members import export_member_posts, forget_member_posts
from bot.posts.model import ForgetReport
from bot.storage import Database, discord_id, utcnow


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
