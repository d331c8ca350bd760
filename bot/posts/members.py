"""A member's own posts: listing them, withdrawing one (its text deleted, not hidden), and the
posts' part of "what the bot keeps about me" and of "forget me" (see bot/privacy.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from bot import audit, scans, topics
from bot.member_keys import member_key
from bot.posts.model import (
    AuthorNotified,
    ForgetReport,
    Post,
    PostError,
    PostEventName,
    PostState,
    PublishState,
    StaleKind,
    _all,
    RATE_LIMIT_KEPT,
    _change,
    _close_listing,
    _event,
    _iso,
    _mark_stale,
    _now,
    _open_notice,
    _remove_copies,
    _one,
    _post,
    _posts,
)
from bot.storage import Database, discord_id


async def my_posts(
    db: Database, guild_id: int, author_id: int, *, limit: int = 25, offset: int = 0
) -> list[Post]:
    """A member's posts in one server, newest first, with state and any rejection reason."""
    return await _posts(
        db.conn,
        "SELECT * FROM posts WHERE guild_id = ? AND author_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (guild_id, author_id, max(1, int(limit)), max(0, int(offset))),
    )


async def withdraw(
    db: Database, post_id: int, author_id: int, *, guild_id: int | None = None,
    now: datetime | str | None = None,
) -> Post:
    """The author takes a post back. Its text, name and topic hint are deleted, not hidden (zeroed
    in the database file, and the write-ahead log emptied after the commit), and so are its safety
    flags and urgency, in the post, its history and the audit log; the queue embed and any published
    copy are listed by `messages_to_remove`."""
    when = _now(now)
    async with db.transaction() as tx:
        row = await _one(tx, "SELECT * FROM posts WHERE id = ?", (post_id,))
        if row is None or row["author_id"] != author_id or (guild_id is not None and row["guild_id"] != guild_id):
            raise PostError("not_found", "You have no such post here.")
        if row["state"] == PostState.WITHDRAWN:
            raise PostError("already_withdrawn", f"Post #{row['number']} was already withdrawn.")
        # What becomes of these deletions is kept for the member, by the keyed hash of their id.
        notice = await _open_notice(tx, await member_key(tx, author_id, create=True), row["guild_id"], row["number"],
                                    when)
        listed = await _mark_stale(tx, row["guild_id"], row["queue_channel_id"], row["queue_message_id"],
                                   StaleKind.QUEUE, when, notice)
        listed += await _mark_stale(tx, row["guild_id"], row["published_channel_id"], row["published_message_id"],
                                    StaleKind.PUBLISHED, when, notice)
        listed += await _remove_copies(tx, post_id, when, notice)
        await _close_listing(tx, notice, listed)
        changed = await _change(
            tx,
            "UPDATE posts SET state = 'withdrawn', text = '', author_name = NULL, topic_hint = NULL,"
            " urgent = 0, flags = '[]', " + scans.CLEARED_SQL + ","
            " queue_channel_id = NULL, queue_message_id = NULL,"
            " published_channel_id = NULL, published_message_id = NULL, publish_next_at = NULL"
            " WHERE id = ? AND state != 'withdrawn'",
            (post_id,),
        )
        if not changed:  # cannot happen under the write lock; kept so a change there fails loudly
            raise PostError("already_withdrawn", f"Post #{row['number']} was already withdrawn.")
        await topics.untag_post(tx, post_id)
        # No flag or urgency stays tied to the author: not on the post, its history or the audit log.
        await _change(tx, "UPDATE post_events SET detail = '{}' WHERE post_id = ? AND event = 'created'", (post_id,))
        await audit.forget_details(tx, f"post:{post_id}", actor_id=author_id, keep={"number"})
        await _event(tx, post_id, row["guild_id"], PostEventName.WITHDRAWN, author_id, when, {"was": row["state"]})
        await audit.record(
            tx, guild_id=row["guild_id"], actor_id=author_id, action="post.withdrawn", target=f"post:{post_id}",
            detail={"number": row["number"], "was": row["state"]},
        )
        post = await _post(tx, post_id)
    await db.checkpoint()  # the text goes from the database files too, not only from what SQL sees
    return post


async def export_member_posts(conn: aiosqlite.Connection, user_id: int) -> dict[str, Any]:
    """The posts' part of what the bot keeps about a member (their posts with their history, and the
    servers that blocked them), as JSON-ready data."""
    posts = await _posts(conn, "SELECT * FROM posts WHERE author_id = ? ORDER BY id", (user_id,))
    history: dict[int, list[dict[str, Any]]] = {p.id: [] for p in posts}
    for post in posts:
        for event in await _all(conn, "SELECT * FROM post_events WHERE post_id = ? ORDER BY id", (post.id,)):
            history[post.id].append({"event": event["event"], "at": event["created_at"]})
    blocks = await _all(conn, "SELECT guild_id, blocked_at FROM blocked_members WHERE user_id = ?"
                              " UNION ALL SELECT guild_id, blocked_at FROM post_blocks WHERE user_id = ?"
                              " ORDER BY guild_id, blocked_at", (user_id, user_id))
    return {
        "posts": [
            {
                "server_id": discord_id(p.guild_id),
                "post_number": p.number,
                "text": p.text,
                "topic_hint": p.topic_hint,
                "posted_as": "anonymous" if p.anonymous else p.author_name,
                "state": p.state,
                "reason": p.reason,
                "urgent": p.urgent,
                "flags": list(p.flags),
                "topics": list(p.topics),
                "created_at": p.created_at,
                "decided_at": p.decided_at,
                "published": p.publish_state == PublishState.PUBLISHED,
                "you_were_told": {None: "not yet", AuthorNotified.DM_SENT: "by DM", AuthorNotified.DM_FAILED: "DMs closed"}[p.author_notified],
                "history": history[p.id],
            }
            for p in posts
        ],
        "blocked_in_servers": [{"server_id": discord_id(r["guild_id"]), "blocked_at": r["blocked_at"]} for r in blocks],
    }


async def forget_member_posts(tx: aiosqlite.Connection, user_id: int, *,
                             now: datetime | str | None = None) -> ForgetReport:
    """The posts' part of "forget me", inside the caller's transaction: their posts (text, name, hints,
    topic tags, history) go, the messages that showed them are listed for deletion, and what they did
    as a moderator no longer names them. When they shared in the last 24 hours stays, by a keyed hash
    of their id, so that the cooldown and daily cap still hold. Blocks placed on them stay (ids only;
    lifting them is the moderators' call)."""
    when = _now(now)
    rows = await _all(
        tx,
        "SELECT id, guild_id, queue_channel_id, queue_message_id, published_channel_id, published_message_id"
        " FROM posts WHERE author_id = ?",
        (user_id,),
    )
    # What the cooldown and the daily cap need, without the member's id: when they shared lately.
    key = await member_key(tx, user_id, create=True)
    await _change(tx, "DELETE FROM rate_limit_marks WHERE created_at < ?", (_iso(when - RATE_LIMIT_KEPT),))
    await _change(
        tx,
        "INSERT INTO rate_limit_marks(guild_id, member_key, created_at)"
        " SELECT guild_id, ?, created_at FROM posts WHERE author_id = ? AND created_at >= ?",
        (key, user_id, _iso(when - RATE_LIMIT_KEPT)),
    )
    messages = 0
    notice = await _open_notice(tx, key, None, None, when)  # what becomes of the deletions, for /mydata
    for row in rows:
        messages += await _mark_stale(tx, row["guild_id"], row["queue_channel_id"], row["queue_message_id"],
                                      StaleKind.QUEUE, when, notice)
        messages += await _mark_stale(tx, row["guild_id"], row["published_channel_id"],
                                      row["published_message_id"], StaleKind.PUBLISHED, when, notice)
        messages += await _remove_copies(tx, row["id"], when, notice)
        await topics.untag_post(tx, row["id"])
    await _close_listing(tx, notice, messages)
    post_ids = [row["id"] for row in rows]
    for start in range(0, len(post_ids), 500):  # SQLite caps the number of ? in one statement
        chunk = post_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        await _change(tx, f"DELETE FROM post_events WHERE post_id IN ({marks})", chunk)
    await _change(tx, "DELETE FROM posts WHERE author_id = ?", (user_id,))
    # What they did as a moderator stays done, but no longer names them.
    await _change(tx, "UPDATE posts SET decided_by = NULL WHERE decided_by = ?", (user_id,))
    await _change(tx, "UPDATE post_events SET actor_id = NULL WHERE actor_id = ?", (user_id,))
    await _change(tx, "UPDATE blocked_members SET blocked_by = 0 WHERE blocked_by = ?", (user_id,))
    await _change(tx, "UPDATE post_blocks SET blocked_by = 0 WHERE blocked_by = ?", (user_id,))
    still_blocked = await _all(tx, "SELECT guild_id FROM blocked_members WHERE user_id = ?"
                                   " UNION SELECT guild_id FROM post_blocks WHERE user_id = ? ORDER BY guild_id",
                               (user_id, user_id))
    return ForgetReport(
        posts_deleted=len(rows),
        guild_ids=tuple(sorted({row["guild_id"] for row in rows})),
        messages_to_remove=messages,
        still_blocked_in=tuple(r["guild_id"] for r in still_blocked),
    )


async def forget_guild_posts(tx: aiosqlite.Connection, guild_id: int) -> int:
    """The posts' part of deleting a server the bot has left, inside the caller's transaction: its
    posts (with their topic tags and history), blocks, post numbers, rate-limit marks, and the lists
    of its messages to delete (the bot can no longer reach them). Returns how many posts went."""
    for table in ("post_events", "post_copies", "stale_messages", "blocked_members", "post_blocks",
                  "guild_post_counters", "rate_limit_marks", "topic_tags", "removal_notices"):
        await _change(tx, f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
    return await _change(tx, "DELETE FROM posts WHERE guild_id = ?", (guild_id,))
