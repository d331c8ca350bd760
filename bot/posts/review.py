"""A post's review: reading pending posts and a post's history, the moderator's decision
(pending -> approved or rejected), refusals, and blocking members from sharing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot import audit, sanitize
from bot.audit import AuditEntry
from bot.errors import UserFacingError
from bot.posts.model import (
    MAX_REASON_LENGTH,
    BlockedMember,
    Decision,
    Post,
    PostError,
    PostEvent,
    PostEventName,
    PostState,
    _change,
    _event,
    _iso,
    _now,
    _one,
    _post,
    _posts,
)
from bot.storage import Database


async def get_post(db: Database, post_id: int, *, guild_id: int | None = None) -> Post | None:
    """One post, or None; with `guild_id`, None also when it belongs to another server."""
    post = await _post(db.conn, post_id)
    if post is None or (guild_id is not None and post.guild_id != guild_id):
        return None
    return post


async def get_post_by_number(db: Database, guild_id: int, number: int) -> Post | None:
    """The post moderators call "Post #number" in this server."""
    found = await _posts(db.conn, "SELECT * FROM posts WHERE guild_id = ? AND number = ?", (guild_id, number))
    return found[0] if found else None


async def pending(db: Database, guild_id: int, *, limit: int = 10, offset: int = 0) -> list[Post]:
    """Pending posts of one server: urgent ones first, then the oldest first."""
    return await _posts(
        db.conn,
        "SELECT * FROM posts WHERE guild_id = ? AND state = 'pending' ORDER BY urgent DESC, id LIMIT ? OFFSET ?",
        (guild_id, max(1, int(limit)), max(0, int(offset))),
    )


async def pending_count(db: Database, guild_id: int) -> int:
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM posts WHERE guild_id = ? AND state = 'pending'", (guild_id,)
    ))


async def post_history(db: Database, post_id: int) -> list[PostEvent]:
    rows = await db.fetchall("SELECT * FROM post_events WHERE post_id = ? ORDER BY id", (post_id,))
    return [
        PostEvent(r["id"], r["post_id"], PostEventName(r["event"]), r["actor_id"], json.loads(r["detail"] or "{}"),
                  r["created_at"])
        for r in rows
    ]


def _already_decided_message(row: Any) -> str:
    label = f"Post #{row['number']}"
    if row["state"] == PostState.WITHDRAWN:
        return f"{label} was withdrawn by its author."
    return f"{label} was already {row['state']}."


def _clean_reason(reason: str | None) -> str | None:
    """A moderator's reason, cleaned like a post; None when there is nothing visible in it."""
    if reason is None or not sanitize.remove_hidden_characters(reason).strip():
        return None
    try:
        return sanitize.clean_post_text(reason, min_len=1, max_len=MAX_REASON_LENGTH, what="reason").text
    except UserFacingError as error:
        raise PostError("bad_reason", str(error)) from error


async def decide(
    db: Database,
    *,
    post_id: int,
    guild_id: int,
    moderator_id: int,
    approve: bool,
    reason: str | None = None,
    now: datetime | str | None = None,
) -> Decision:
    """Approve or reject a pending post; committed before this returns, with the audit row it wrote.

    Refused when the post does not exist in this server or is no longer pending (two moderators
    clicking at once: exactly one wins). A rejection needs a reason, which the author is shown.
    Approval makes the post quotable and due for publishing.
    """
    when = _now(now)
    cleaned_reason = _clean_reason(reason)
    if not approve and cleaned_reason is None:
        raise PostError("reason_required", "Please give the author a short reason for rejecting their post.")
    state = PostState.APPROVED if approve else PostState.REJECTED

    async with db.transaction() as tx:
        row = await _one(tx, "SELECT guild_id, number, state FROM posts WHERE id = ?", (post_id,))
        if row is None or row["guild_id"] != guild_id:
            # The same answer for both: a forged id learns nothing about other servers.
            raise PostError("not_found", "That post does not exist in this server.")
        changed = await _change(
            tx,
            "UPDATE posts SET state = ?, decided_by = ?, decided_at = ?, reason = ?,"
            " publish_state = CASE WHEN ? = 'approved' THEN 'unpublished' END,"
            " publish_next_at = CASE WHEN ? = 'approved' THEN ? END"
            " WHERE id = ? AND guild_id = ? AND state = 'pending'",
            (state, moderator_id, _iso(when), cleaned_reason, state, state, _iso(when), post_id, guild_id),
        )
        if changed == 0:
            raise PostError("already_decided", _already_decided_message(row))
        await _event(tx, post_id, guild_id, PostEventName(state), moderator_id, when)
        entry = await audit.record(
            tx, guild_id=guild_id, actor_id=moderator_id, action=f"post.{state}", target=f"post:{post_id}",
            detail={"number": row["number"]},
        )
        post = await _post(tx, post_id)
    return Decision(post, entry)


async def record_refusal(
    db: Database, *, guild_id: int | None, actor_id: int, attempted: str, post_id: int | None = None
) -> AuditEntry:
    """Audit a member without the moderator role pressing a moderation button or command; returns
    the audit row."""
    async with db.transaction() as tx:
        return await audit.record(
            tx, guild_id=guild_id, actor_id=actor_id, action="moderation.refused",
            target=None if post_id is None else f"post:{post_id}", detail={"attempted": str(attempted)[:100]},
        )


async def block(db: Database, guild_id: int, user_id: int, moderator_id: int) -> AuditEntry | None:
    """Stop a member from posting in this server; returns the audit row the block wrote (for the log
    channel), or None when they were already blocked."""
    if user_id == moderator_id:
        raise PostError("block_self", "You cannot block yourself.")
    async with db.transaction() as tx:
        changed = await _change(
            tx,
            "INSERT INTO blocked_members(guild_id, user_id, blocked_by, blocked_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(guild_id, user_id) DO NOTHING",
            (guild_id, user_id, moderator_id, _iso(_now(None))),
        )
        if not changed:
            return None
        return await audit.record(tx, guild_id=guild_id, actor_id=moderator_id, action="member.blocked",
                                  target=f"user:{user_id}")


async def block_author(db: Database, *, post_id: int, guild_id: int,
                       moderator_id: int) -> tuple[Post, AuditEntry | None]:
    """The queue's "Block author" button: block whoever wrote this post (their name may be hidden).

    Returns the post and the audit row of the block, None when no block was newly made; the post
    itself is left for a decision.
    Refused like `decide` when the post is not in this server. An anonymous post's author is blocked
    by the post's number, apart from blocks by name, so that no answer ties the post to a member:
    "already" means only that this same post was used to block before.
    """
    post = await get_post(db, post_id, guild_id=guild_id)
    if post is None:
        raise PostError("not_found", "That post does not exist in this server.")
    if not post.anonymous:
        return post, await block(db, guild_id, post.author_id, moderator_id)
    if post.author_id == moderator_id:
        raise PostError("block_self", "You cannot block yourself.")
    async with db.transaction() as tx:
        changed = await _change(
            tx,
            "INSERT INTO post_blocks(guild_id, post_number, user_id, blocked_by, blocked_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(guild_id, post_number) DO NOTHING",
            (guild_id, post.number, post.author_id, moderator_id, _iso(_now(None))),
        )
        if not changed:
            return post, None
        return post, await audit.record(tx, guild_id=guild_id, actor_id=moderator_id, action="member.blocked",
                                        target=f"post:{post.id}", detail={"number": post.number})


async def unblock(db: Database, guild_id: int, user_id: int, moderator_id: int) -> AuditEntry | None:
    """Lift a block by name; returns the audit row it wrote, or None when there was none (blocks made
    from anonymous posts are lifted by the post's number, with `unblock_post`, and are not looked at
    here)."""
    async with db.transaction() as tx:
        changed = await _change(tx, "DELETE FROM blocked_members WHERE guild_id = ? AND user_id = ?",
                                (guild_id, user_id))
        if not changed:
            return None
        return await audit.record(tx, guild_id=guild_id, actor_id=moderator_id, action="member.unblocked",
                                  target=f"user:{user_id}")


async def unblock_post(db: Database, post: Post, moderator_id: int) -> AuditEntry | None:
    """Lift the block made from this post: by its number for an anonymous post, by name otherwise.
    Returns the audit row it wrote, or None when there was none."""
    if not post.anonymous:
        return await unblock(db, post.guild_id, post.author_id, moderator_id)
    async with db.transaction() as tx:
        changed = await _change(tx, "DELETE FROM post_blocks WHERE guild_id = ? AND post_number = ?",
                                (post.guild_id, post.number))
        if not changed:
            return None
        return await audit.record(tx, guild_id=post.guild_id, actor_id=moderator_id, action="member.unblocked",
                                  target=f"post:{post.id}", detail={"number": post.number})


BLOCKED_SQL = ("(EXISTS (SELECT 1 FROM blocked_members WHERE guild_id = ? AND user_id = ?)"
               " OR EXISTS (SELECT 1 FROM post_blocks WHERE guild_id = ? AND user_id = ?))")


async def is_blocked(db: Database, guild_id: int, user_id: int) -> bool:
    """Whether the member may not share here: blocked by name or from one of their anonymous posts."""
    return bool(await db.fetchval(f"SELECT {BLOCKED_SQL}", (guild_id, user_id, guild_id, user_id)))


async def blocked_members(db: Database, guild_id: int) -> list[BlockedMember]:
    rows = await db.fetchall(
        "SELECT * FROM blocked_members WHERE guild_id = ? ORDER BY blocked_at, user_id", (guild_id,)
    )
    return [BlockedMember(r["guild_id"], r["user_id"], r["blocked_by"], r["blocked_at"]) for r in rows]
