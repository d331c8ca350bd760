"""What is still to happen in Discord, as jobs in the database: putting a post in the queue
channel, publishing an approved post, telling the author, deleting messages that show withdrawn or
forgotten text. Each job is handed out under a lease (so two workers never do it twice at once), and
a failure is recorded and retried with growing pauses; only a message that Discord refuses to delete
for a week is given up on, and its member told where it is (`removal_notices`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.member_keys import member_key
from bot.posts.model import (
    NOTIFY_LEASE_SECONDS,
    PUBLISH_LEASE_SECONDS,
    QUEUE_CHANNEL_SETTING,
    QUEUE_LEASE_SECONDS,
    REMOVAL_GIVE_UP,
    REMOVAL_NOTICE_KEPT,
    AuthorNotified,
    Post,
    PostEventName,
    PostState,
    RemovalNotice,
    StaleKind,
    StaleMessage,
    _all,
    _change,
    _error_text,
    _event,
    _iso,
    _mark_stale,
    _next_try,
    _notice_progress,
    _now,
    _one,
    _post,
    _posts,
)
from bot.shards import OwnShards
from bot.storage import Database


async def set_queue_message(db: Database, post_id: int, channel_id: int, message_id: int) -> bool:
    """Remember the queue embed of a post; True only for the call that recorded it (exactly once).

    False when the post already has a queue embed (another one was posted first: the member's
    /share and the worker, say), or was withdrawn or deleted meanwhile. The message just sent is
    then listed by `messages_to_remove`, so that no second set of buttons, and no withdrawn text,
    stays behind. Recording the same message twice returns False and lists nothing.
    """
    when = _now(None)
    async with db.transaction() as tx:
        row = await _one(tx, "SELECT guild_id, state, queue_channel_id, queue_message_id FROM posts WHERE id = ?",
                         (post_id,))
        if row is not None and (row["queue_channel_id"], row["queue_message_id"]) == (channel_id, message_id):
            return False
        if row is None or row["state"] == PostState.WITHDRAWN or row["queue_message_id"] is not None:
            await _mark_stale(tx, None if row is None else row["guild_id"], channel_id, message_id, StaleKind.QUEUE, when)
            return False
        await _change(
            tx,
            "UPDATE posts SET queue_channel_id = ?, queue_message_id = ?, queue_error = NULL, queue_next_at = NULL"
            " WHERE id = ? AND queue_message_id IS NULL",
            (channel_id, message_id, post_id),
        )
    return True


async def record_copies(db: Database, *, guild_id: int, channel_id: int, message_id: int,
                        post_ids: list[int]) -> int:
    """Remember a public message of the bot that repeats these posts' text (a /quote reply shown to the
    channel, a quote shared with Share here), so that withdrawing a post or Forget me deletes it too.
    A post withdrawn or forgotten meanwhile has its copy listed for removal at once. Returns how many
    posts the message was recorded for."""
    when = _now(None)
    recorded = 0
    async with db.transaction() as tx:
        for post_id in post_ids:
            row = await _one(tx, "SELECT state FROM posts WHERE id = ? AND guild_id = ?", (post_id, guild_id))
            if row is None or row["state"] == PostState.WITHDRAWN:
                await _mark_stale(tx, guild_id, channel_id, message_id, StaleKind.PUBLISHED, when)
                continue
            recorded += await _change(
                tx,
                "INSERT INTO post_copies(post_id, guild_id, channel_id, message_id, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (post_id, guild_id, channel_id, message_id, _iso(when)),
            )
    return recorded


async def posts_to_queue(
    db: Database, now: datetime | str | None = None, *, limit: int = 20,
    lease_seconds: int = QUEUE_LEASE_SECONDS, shards: OwnShards | None = None,
) -> list[Post]:
    """Pending posts that should be in their server's queue channel but have no embed there yet.

    Only servers with a queue channel set (the others review with /mod queue). Due posts only:
    a new post is left to the member's own /share for `QUEUE_LEASE_SECONDS`, and one whose
    posting failed waits for its retry time (`mark_queue_failed`). Urgent posts first, then the
    oldest; at most `limit`. The posts returned are set aside for `lease_seconds`: call
    `set_queue_message` or `mark_queue_failed` for each; one left without either (the bot stopped)
    comes back after the lease. With `shards`, only the servers of those shards.
    """
    when = _now(now)
    own, own_params = shards.where() if shards is not None else ("", [])
    # Not serial: the rows are locked as they are read, and rows another process is leasing are
    # passed over (on PostgreSQL; SQLite has one writer at a time anyway).
    async with db.transaction(serial=False) as tx:
        # A server has a queue channel when the setting is stored: only values other than the
        # default (none) are kept, and setting it back to none removes the row. Ids first, so that
        # only the chosen posts are read whole.
        ids = [row["id"] for row in await _all(
            tx,
            "SELECT id FROM posts WHERE state = 'pending' AND queue_message_id IS NULL"
            " AND (queue_next_at IS NULL OR queue_next_at <= ?)"
            " AND guild_id IN (SELECT guild_id FROM guild_settings WHERE key = ? AND value NOT IN ('null', '\"\"'))"
            f"{own} ORDER BY urgent DESC, id LIMIT ?{db.dialect.skip_locked}",
            (_iso(when), QUEUE_CHANNEL_SETTING, *own_params, max(1, int(limit))),
        )]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = {p.id: p for p in await _posts(tx, f"SELECT * FROM posts WHERE id IN ({marks})", ids)}
        await _change(tx, f"UPDATE posts SET queue_next_at = ? WHERE id IN ({marks})",
                      [_iso(when + timedelta(seconds=lease_seconds)), *ids])
    return [found[i] for i in ids]


async def mark_queue_failed(
    db: Database, post_id: int, error: str, retry_in_seconds: float | None = None,
    *, now: datetime | str | None = None,
) -> Post | None:
    """Posting a pending post's embed to the queue channel failed: note why and try again later.

    The post stays pending (and in /mod queue). `retry_in_seconds` is Discord's retry_after on a
    429; otherwise the pause grows with each attempt (30 s, 1 min, 2 min, ... at most an hour).
    Returns the post, or None when it no longer waits for a queue embed (decided, withdrawn,
    deleted, or its embed was posted meanwhile).
    """
    when = _now(now)
    error = _error_text(error)
    async with db.transaction() as tx:
        row = await _one(
            tx,
            "SELECT guild_id, queue_attempts FROM posts WHERE id = ? AND state = 'pending'"
            " AND queue_message_id IS NULL",
            (post_id,),
        )
        if row is None:
            return None
        attempts = row["queue_attempts"] + 1
        retry_at = _next_try(when, attempts, retry_in_seconds)
        await _change(
            tx, "UPDATE posts SET queue_attempts = ?, queue_error = ?, queue_next_at = ? WHERE id = ?",
            (attempts, error, _iso(retry_at), post_id),
        )
        await _event(tx, post_id, row["guild_id"], PostEventName.QUEUE_FAILED, None, when,
                     {"error": error, "attempt": attempts, "retry_at": _iso(retry_at)})
        return await _post(tx, post_id)


async def posts_to_publish(
    db: Database, now: datetime | str | None = None, *, limit: int = 20,
    lease_seconds: int = PUBLISH_LEASE_SECONDS, shards: OwnShards | None = None, owner: str | None = None,
) -> list[Post]:
    """Approved posts not yet in the posts channel whose retry time has come, oldest first.

    The posts returned are set aside for `lease_seconds`: call `mark_published` or
    `mark_publish_failed` for each. One left without either (the bot stopped) comes back after
    the lease, so nothing is lost. With `shards`, only the servers of those shards. The lease
    names its `owner` (the process), and only the owner records a failure (`mark_publish_failed`).
    """
    return await _lease(
        db, "publish", "state = 'approved' AND publish_state IN ('unpublished', 'failed') AND publish_next_at <= ?",
        "publish_next_at, id", now=now, limit=limit, shards=shards, lease_seconds=lease_seconds, owner=owner,
    )


async def _lease(db: Database, job: str, due: str, order: str, *, now: datetime | str | None, limit: int,
                 shards: OwnShards | None, lease_seconds: int, owner: str | None) -> list[Post]:
    """The posts due for one job (`publish` or `notify`; `due` is the SQL condition, its one `?` the
    time now), at most `limit` in `order`, with `shards` only those servers', set aside for
    `lease_seconds` and named as `owner`'s, in one transaction: no other process is handed them
    meanwhile."""
    when = _now(now)
    own, own_params = shards.where() if shards is not None else ("", [])
    # Not serial: the rows are locked as they are read, and rows another process is leasing are
    # passed over (on PostgreSQL; SQLite has one writer at a time anyway).
    async with db.transaction(serial=False) as tx:
        leased = await _posts(tx, f"SELECT * FROM posts WHERE {due}{own} ORDER BY {order} LIMIT ?{db.dialect.skip_locked}",
                              (_iso(when), *own_params, max(1, int(limit))))
        if leased:
            marks = ",".join("?" * len(leased))
            await _change(
                tx, f"UPDATE posts SET {job}_next_at = ?, {job}_owner = ? WHERE id IN ({marks})",
                [_iso(when + timedelta(seconds=lease_seconds)), owner, *[p.id for p in leased]],
            )
    return leased


def _not_leased_to_another(job: str) -> str:
    """SQL: the job's lease is the caller's (`owner`, given twice), or nobody's; any lease when the
    caller names no owner."""
    return f"(CAST(? AS TEXT) IS NULL OR {job}_owner IS NULL OR {job}_owner = ?)"


async def mark_published(
    db: Database, post_id: int, message_id: int, *, channel_id: int | None = None,
    now: datetime | str | None = None,
) -> Post | None:
    """Record the published message; the fresh post only for the call that recorded it (exactly once).

    None when the post was already published with another message, or was withdrawn or deleted
    while it was being published: the message just sent is then listed by `messages_to_remove`
    (pass `channel_id` so that it can be found).
    """
    when = _now(now)
    async with db.transaction() as tx:
        changed = await _change(
            tx,
            "UPDATE posts SET publish_state = 'published', published_channel_id = ?, published_message_id = ?,"
            " published_at = ?, publish_error = NULL, publish_next_at = NULL, publish_owner = NULL"
            " WHERE id = ? AND state = 'approved' AND publish_state IN ('unpublished', 'failed')",
            (channel_id, message_id, _iso(when), post_id),
        )
        if changed:
            row = await _one(tx, "SELECT guild_id, publish_attempts FROM posts WHERE id = ?", (post_id,))
            await _event(tx, post_id, row["guild_id"], PostEventName.PUBLISHED, None, when,
                         {"message_id": message_id, "failed_attempts": row["publish_attempts"]})
            return await _post(tx, post_id)
        row = await _one(tx, "SELECT guild_id, published_message_id FROM posts WHERE id = ?", (post_id,))
        if row is not None and row["published_message_id"] == message_id:
            return None  # the same message recorded twice: nothing to undo
        await _mark_stale(tx, None if row is None else row["guild_id"], channel_id, message_id, StaleKind.PUBLISHED, when)
    return None


async def mark_publish_failed(
    db: Database, post_id: int, error: str, retry_in_seconds: float | None = None,
    *, now: datetime | str | None = None, owner: str | None = None,
) -> Post | None:
    """Publishing failed: keep the post approved and unpublished, note why, and retry later.

    `retry_in_seconds` is Discord's retry_after on a 429; otherwise the pause grows with each
    attempt (30 s, 1 min, 2 min, ... at most an hour). Returns the post (its `publish_error` and
    `publish_attempts` tell the moderator why), or None when it no longer needs publishing, or
    when another process than `owner` holds its lease now (that process's outcome counts).
    """
    when = _now(now)
    error = _error_text(error)
    async with db.transaction() as tx:
        row = await _one(
            tx,
            "SELECT guild_id, publish_attempts FROM posts WHERE id = ? AND state = 'approved'"
            f" AND publish_state IN ('unpublished', 'failed') AND {_not_leased_to_another('publish')}",
            (post_id, owner, owner),
        )
        if row is None:
            return None
        attempts = row["publish_attempts"] + 1
        retry_at = _next_try(when, attempts, retry_in_seconds)
        await _change(
            tx,
            "UPDATE posts SET publish_state = 'failed', publish_attempts = ?, publish_error = ?,"
            " publish_next_at = ?, publish_owner = NULL WHERE id = ?",
            (attempts, error, _iso(retry_at), post_id),
        )
        await _event(tx, post_id, row["guild_id"], PostEventName.PUBLISH_FAILED, None, when,
                     {"error": error, "attempt": attempts, "retry_at": _iso(retry_at)})
        return await _post(tx, post_id)


async def decisions_to_notify(
    db: Database, now: datetime | str | None = None, *, limit: int = 20, shards: OwnShards | None = None,
    owner: str | None = None, lease_seconds: int = NOTIFY_LEASE_SECONDS,
) -> list[Post]:
    """Decided posts whose author has not been told yet and whose DM is due (say the bot restarted
    before the DM, or the last try failed); with `shards`, only the servers of those shards.

    The posts returned are leased to `owner` for `lease_seconds`, so that no other process sends
    the same DM: call `mark_author_notified` or `mark_notify_failed` for each. One left without
    either (the bot stopped) comes back after the lease.
    """
    return await _lease(
        db, "notify", "state IN ('approved', 'rejected') AND author_notified IS NULL"
        " AND (notify_next_at IS NULL OR notify_next_at <= ?)",
        "decided_at, id", now=now, limit=limit, shards=shards, lease_seconds=lease_seconds, owner=owner,
    )


async def mark_notify_failed(
    db: Database, post_id: int, retry_in_seconds: float | None = None, *,
    now: datetime | str | None = None, owner: str | None = None,
) -> bool:
    """The decision DM failed for a reason that may pass (Discord down, a 429): try again after
    `retry_in_seconds`, or growing pauses. False when the author was told meanwhile, or another
    process than `owner` holds the lease now."""
    when = _now(now)
    async with db.transaction() as tx:
        row = await _one(
            tx, "SELECT notify_attempts FROM posts WHERE id = ? AND author_notified IS NULL"
            f" AND {_not_leased_to_another('notify')}", (post_id, owner, owner))
        if row is None:
            return False
        attempts = row["notify_attempts"] + 1
        await _change(
            tx, "UPDATE posts SET notify_attempts = ?, notify_next_at = ?, notify_owner = NULL WHERE id = ?",
            (attempts, _iso(_next_try(when, attempts, retry_in_seconds)), post_id),
        )
    return True


async def mark_author_notified(
    db: Database, post_id: int, ok: bool, *, now: datetime | str | None = None
) -> bool:
    """Record whether the decision DM reached the author (False: DMs closed; /myposts shows it)."""
    when = _now(now)
    result = AuthorNotified.DM_SENT if ok else AuthorNotified.DM_FAILED
    async with db.transaction() as tx:
        row = await _one(tx, "SELECT guild_id FROM posts WHERE id = ?", (post_id,))
        if row is None:
            return False
        await _change(tx, "UPDATE posts SET author_notified = ?, author_notified_at = ?, notify_owner = NULL"
                      " WHERE id = ?",
                      (result, _iso(when), post_id))
        await _event(tx, post_id, row["guild_id"], PostEventName(result), None, when)
    return True


async def messages_to_remove(
    db: Database, now: datetime | str | None = None, *, limit: int = 20, shards: OwnShards | None = None,
) -> list[StaleMessage]:
    """Queue embeds and published copies of withdrawn or forgotten posts, to delete in Discord;
    with `shards`, only those in the servers of those shards (and those of no known server on shard 0's)."""
    own, own_params = shards.where() if shards is not None else ("", [])
    rows = await db.fetchall(
        f"SELECT * FROM stale_messages WHERE next_at <= ?{own} ORDER BY id LIMIT ?",
        (_iso(_now(now)), *own_params, max(1, int(limit))),
    )
    return [StaleMessage(r["id"], r["guild_id"], r["channel_id"], r["message_id"], StaleKind(r["kind"]),
                         r["attempts"])
            for r in rows]


async def mark_message_removed(db: Database, stale_id: int, *, now: datetime | str | None = None) -> None:
    """The message is gone (deleted now, or Discord says it no longer exists)."""
    async with db.transaction() as tx:
        row = await _one(tx, "DELETE FROM stale_messages WHERE id = ? RETURNING notice_id", (stale_id,))
        if row is not None:
            await _notice_progress(tx, row["notice_id"], _now(now), removed=True)


async def mark_message_removal_failed(
    db: Database, stale_id: int, error: str, retry_in_seconds: float | None = None,
    *, now: datetime | str | None = None,
) -> bool:
    """Discord refused to delete the message: tried again later, or, once it has refused for
    REMOVAL_GIVE_UP, given up on (the member's notice says where the message is). Returns whether
    it was given up on."""
    when = _now(now)
    async with db.transaction() as tx:
        row = await _one(tx, "SELECT attempts, created_at, notice_id, guild_id, channel_id FROM stale_messages"
                             " WHERE id = ?", (stale_id,))
        if row is None:
            return False
        if when - datetime.fromisoformat(row["created_at"]) >= REMOVAL_GIVE_UP:
            await _change(tx, "DELETE FROM stale_messages WHERE id = ?", (stale_id,))
            await _notice_progress(tx, row["notice_id"], when, removed=False, where=(row["guild_id"], row["channel_id"]))
            return True
        attempts = row["attempts"] + 1
        await _change(
            tx, "UPDATE stale_messages SET attempts = ?, last_error = ?, next_at = ? WHERE id = ?",
            (attempts, _error_text(error), _iso(_next_try(when, attempts, retry_in_seconds)), stale_id),
        )
    return False


async def removal_notices(db: Database, user_id: int, *, guild_id: int | None = None) -> list[RemovalNotice]:
    """What became of the deletions a member's withdrawals and "Forget me" set out to do, newest
    first (with `guild_id`: the withdrawals in that server only). Found by the keyed hash of the id."""
    key = await member_key(db.conn, user_id)
    if key is None:
        return []
    where, params = ("AND guild_id = ?", [guild_id]) if guild_id is not None else ("", [])
    rows = await db.fetchall(f"SELECT * FROM removal_notices WHERE member_key = ? {where} ORDER BY id DESC",
                             (key, *params))
    return [RemovalNotice(r["guild_id"], r["post_number"], r["listed"], r["removed"],
                          tuple(tuple(pair) for pair in json.loads(r["given_up"])), r["created_at"], r["finished_at"])
            for r in rows]


async def prune_removal_notices(tx, now: datetime, *, where: str = "", params: list | None = None) -> int:
    """Forget notices whose last message was dealt with more than REMOVAL_NOTICE_KEPT ago (inside the
    caller's transaction; `where` narrows it, as `OwnShards.where` makes)."""
    cursor = await tx.execute(f"DELETE FROM removal_notices WHERE finished_at < ?{where}",
                              (_iso(now - REMOVAL_NOTICE_KEPT), *(params or [])))
    return cursor.rowcount or 0
