"""Member posts: sharing, the moderation queue, publishing, and members' own data.

A post moves through explicit states: pending -> approved or rejected, and any of those ->
withdrawn by its author. Every change is committed (with its history event and audit row)
before the function returns, so the bot never tells anyone about something that could still
be lost. Nothing here talks to Discord: the functions return plain data, and the records of
what still has to happen in Discord (publishing, telling the author, deleting messages that
show withdrawn text) live in the database, so a restart or an outage only delays them.

Privacy: the author's id is kept even for anonymous posts (to tell them of the decision and to
let them withdraw it); their name is stored only when they chose to post under it. The history
of a post and the audit log never hold what the member wrote.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import aiosqlite

from bot import audit, quotes, safety, sanitize, topics
from bot.errors import UserFacingError
from bot.guild_settings import GuildConfig, setting
from bot.storage import Database

# Text limits, the same as the /share modal's.
MIN_POST_LENGTH = 10
MAX_POST_LENGTH = 4000
MAX_TOPIC_HINT_LENGTH = 100
MAX_REASON_LENGTH = 1000

# The daily cap counts posts in the last 24 hours (a rolling window: servers span time zones).
DAILY_WINDOW = timedelta(hours=24)

# Publishing and message clean-up retry with growing pauses, never giving up.
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 3600
# A post handed to the publisher is not handed out again for this long, so two publishers (or a
# publisher that crashed mid-way) do not post it twice at once; after it, it is retried.
PUBLISH_LEASE_SECONDS = 120
# A new post's embed is posted to the queue channel by the member's own /share, at once. For this
# long nobody else posts it; after it (the bot stopped in between, say) the worker does.
QUEUE_LEASE_SECONDS = 60
# Errors from Discord are stored for the moderator; they are short, but never trust a length.
MAX_ERROR_LENGTH = 500

ANONYMOUS_NAME = "Anonymous member"
# The server setting naming the queue channel (looked up so that a rename fails loudly here).
QUEUE_CHANNEL_SETTING = setting("queue_channel").name


class PostError(UserFacingError):
    """A refusal a member or moderator sees; `kind` names the reason for code and tests."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# -- what the functions return --------------------------------------------------------------

@dataclass(frozen=True)
class Post:
    id: int
    guild_id: int
    number: int                       # shown to moderators as "Post #12"; per server, never reused
    author_id: int
    author_name: str | None           # only when the member chose to post under their name
    anonymous: bool
    text: str                         # '' once withdrawn
    topic_hint: str | None
    state: str                        # pending, approved, rejected, withdrawn
    urgent: bool
    flags: tuple[str, ...]            # safety and cleaning flags for the moderator
    created_at: str
    decided_by: int | None
    decided_at: str | None
    reason: str | None
    queue_channel_id: int | None
    queue_message_id: int | None
    publish_state: str | None         # None until approved; unpublished, published, failed
    publish_attempts: int
    publish_error: str | None
    publish_next_at: str | None
    published_channel_id: int | None
    published_message_id: int | None
    published_at: str | None
    author_notified: str | None       # None (not yet), dm_sent, dm_failed
    topics: tuple[str, ...] = ()      # detected topics
    queue_attempts: int = 0           # failed tries to post the embed to the queue channel
    queue_error: str | None = None    # why the last try failed
    queue_next_at: str | None = None  # not tried again before this time

    @property
    def label(self) -> str:
        return f"Post #{self.number}"

    @property
    def shown_name(self) -> str:
        """The name the community sees: nobody's for an anonymous post."""
        if self.anonymous or not self.author_name:
            return ANONYMOUS_NAME
        return self.author_name

    @property
    def is_decided(self) -> bool:
        return self.state in ("approved", "rejected")


@dataclass(frozen=True)
class SubmitResult:
    post: Post
    created: bool                     # False: this interaction had already made this post
    scan: safety.SafetyScan           # crisis -> show the member the server's crisis resources


@dataclass(frozen=True)
class PostEvent:
    id: int
    post_id: int
    event: str
    actor_id: int | None
    detail: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class StaleMessage:
    """A message in Discord that still shows text the database no longer keeps: delete it."""
    id: int
    guild_id: int | None
    channel_id: int
    message_id: int
    kind: str                         # 'queue' (the moderators' embed) or 'published'
    attempts: int


@dataclass(frozen=True)
class BlockedMember:
    guild_id: int
    user_id: int
    blocked_by: int
    blocked_at: str


@dataclass(frozen=True)
class ForgetReport:
    posts_deleted: int
    guild_ids: tuple[int, ...]        # servers where the member had posts
    messages_to_remove: int           # queue and published messages queued for deletion in Discord
    still_blocked_in: tuple[int, ...] # blocks stay: they hold no text and are the moderators' call


# -- time -----------------------------------------------------------------------------------

def _as_datetime(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # naive times are UTC throughout the bot
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _now(now: datetime | str | None) -> datetime:
    return datetime.now(timezone.utc) if now is None else _as_datetime(now)


def _iso(moment: datetime) -> str:
    # The same shape as storage.utcnow(), so stored times compare correctly as text.
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def format_wait(seconds: float) -> str:
    """'45 seconds', '4 minutes', '3 hours 20 minutes': rounded up, never '0'."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} hour{'s' if hours != 1 else ''}"
    if minutes:
        text += f" {minutes} minute{'s' if minutes != 1 else ''}"
    return text


def _backoff(attempts: int) -> int:
    """30 s, 1 min, 2 min, ... at most an hour: Discord outages end, and nothing is dropped."""
    return min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))


def _next_try(when: datetime, attempts: int, retry_in_seconds: float | None) -> datetime:
    """When a failed send is tried again: Discord's retry_after on a 429, else the growing pause."""
    pause = _backoff(attempts) if retry_in_seconds is None else max(1.0, float(retry_in_seconds))
    return when + timedelta(seconds=math.ceil(pause))


def _error_text(error: object) -> str:
    """Discord's error on one line, bounded: what moderators are told, never post text."""
    return " ".join(str(error).split())[:MAX_ERROR_LENGTH] or "unknown error"


# -- small SQL helpers that work on the Database's connection, inside a transaction or not ----

# Each call is one trip to SQLite's worker thread; those trips, not SQLite, are most of what a
# submission costs, so every helper makes exactly one.

async def _all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def _one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    rows = await _all(conn, sql, params)  # all rows read: a RETURNING statement is finished
    return rows[0] if rows else None


async def _change(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run an INSERT/UPDATE/DELETE; return how many rows it changed."""
    cur = await conn.execute(sql, tuple(params))
    return cur.rowcount  # a finished statement holds nothing: no need to close the cursor


def _row_to_post(row: Any, post_topics: Iterable[str] = ()) -> Post:
    return Post(
        id=row["id"],
        guild_id=row["guild_id"],
        number=row["number"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        anonymous=bool(row["anonymous"]),
        text=row["text"],
        topic_hint=row["topic_hint"],
        state=row["state"],
        urgent=bool(row["urgent"]),
        flags=tuple(json.loads(row["flags"] or "[]")),
        created_at=row["created_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        reason=row["reason"],
        queue_channel_id=row["queue_channel_id"],
        queue_message_id=row["queue_message_id"],
        publish_state=row["publish_state"],
        publish_attempts=row["publish_attempts"],
        publish_error=row["publish_error"],
        publish_next_at=row["publish_next_at"],
        published_channel_id=row["published_channel_id"],
        published_message_id=row["published_message_id"],
        published_at=row["published_at"],
        author_notified=row["author_notified"],
        topics=tuple(post_topics),
        queue_attempts=row["queue_attempts"],
        queue_error=row["queue_error"],
        queue_next_at=row["queue_next_at"],
    )


async def _topics_of(conn: aiosqlite.Connection, post_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {pid: [] for pid in post_ids}
    if not post_ids:
        return found
    marks = ",".join("?" * len(post_ids))
    rows = await _all(
        conn,
        f"SELECT item_id, topic FROM topic_tags WHERE source = 'post' AND item_id IN ({marks})"
        " ORDER BY item_id, score DESC, topic",
        post_ids,
    )
    for row in rows:
        found[row["item_id"]].append(row["topic"])
    return found


async def _posts(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Post]:
    rows = await _all(conn, sql, params)
    tags = await _topics_of(conn, [r["id"] for r in rows])
    return [_row_to_post(r, tags[r["id"]]) for r in rows]


async def _post(conn: aiosqlite.Connection, post_id: int, post_topics: Iterable[str] | None = None) -> Post | None:
    if post_topics is None:
        found = await _posts(conn, "SELECT * FROM posts WHERE id = ?", (post_id,))
        return found[0] if found else None
    row = await _one(conn, "SELECT * FROM posts WHERE id = ?", (post_id,))
    return None if row is None else _row_to_post(row, post_topics)


async def _event(
    conn: aiosqlite.Connection, post_id: int, guild_id: int, event: str, actor_id: int | None,
    when: datetime, detail: dict[str, Any] | None = None,
) -> None:
    await _change(
        conn,
        "INSERT INTO post_events(post_id, guild_id, event, actor_id, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (post_id, guild_id, event, actor_id, json.dumps(detail or {}, sort_keys=True), _iso(when)),
    )


async def _mark_stale(
    conn: aiosqlite.Connection, guild_id: int | None, channel_id: int | None, message_id: int | None,
    kind: str, when: datetime,
) -> bool:
    if channel_id is None or message_id is None:
        return False
    changed = await _change(
        conn,
        "INSERT INTO stale_messages(guild_id, channel_id, message_id, kind, next_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(channel_id, message_id) DO NOTHING",
        (guild_id, channel_id, message_id, kind, _iso(when), _iso(when)),
    )
    return changed > 0


# -- sharing --------------------------------------------------------------------------------

async def _check_may_post(
    conn: aiosqlite.Connection, config: Any, *, guild_id: int, author_id: int, anonymous: bool,
    member_joined_at: datetime | str | None, now: datetime,
) -> None:
    """Refuse with a PostError when the member may not post now; in the order members meet them."""
    if not config.posting_enabled:
        raise PostError("posting_disabled", "Sharing posts is turned off in this server.")

    cap = int(config.daily_cap or 0)
    row = await _one(
        conn,
        "SELECT"
        " (SELECT 1 FROM blocked_members WHERE guild_id = ? AND user_id = ?) AS blocked,"
        " (SELECT MAX(created_at) FROM posts WHERE guild_id = ? AND author_id = ?) AS last_at,"
        " (SELECT created_at FROM posts WHERE guild_id = ? AND author_id = ? AND created_at > ?"
        "  ORDER BY created_at DESC LIMIT 1 OFFSET ?) AS cap_at",
        (guild_id, author_id, guild_id, author_id, guild_id, author_id,
         _iso(now - DAILY_WINDOW), max(cap - 1, 0)),
    )
    if row["blocked"]:
        raise PostError(
            "blocked",
            "The moderators of this server have paused your posting here, so this post was not saved. "
            "If you think this is a mistake, please talk to a moderator.",
        )

    min_hours = float(config.min_member_age_hours or 0)
    # An unknown join time (Discord did not send it) is not held against the member.
    if min_hours > 0 and member_joined_at is not None:
        allowed_at = _as_datetime(member_joined_at) + timedelta(hours=min_hours)
        if now < allowed_at:
            hours = f"{min_hours:g} hour{'s' if min_hours != 1 else ''}"
            raise PostError(
                "too_new",
                f"New members can share once they have been in this server for {hours}. "
                f"You can share in {format_wait((allowed_at - now).total_seconds())}.",
            )

    cooldown = int(config.cooldown_seconds or 0)
    if cooldown > 0 and row["last_at"] is not None:
        ready_at = _as_datetime(row["last_at"]) + timedelta(seconds=cooldown)
        if now < ready_at:
            raise PostError(
                "cooldown", f"You can share again in {format_wait((ready_at - now).total_seconds())}."
            )

    if cap > 0 and row["cap_at"] is not None:
        # The cap-th newest post in the window has to leave it before another fits.
        ready_at = _as_datetime(row["cap_at"]) + DAILY_WINDOW
        shared = "1 post" if cap == 1 else f"{cap} posts"
        raise PostError(
            "daily_cap",
            f"You have shared {shared} in the last 24 hours, the most this server allows. "
            f"You can share again in {format_wait((ready_at - now).total_seconds())}.",
        )

    if anonymous and not config.anonymous_allowed:
        raise PostError(
            "anonymous_not_allowed",
            "This server does not allow anonymous posts. You can share under your name instead.",
        )


async def check_may_post(
    db: Database,
    config: GuildConfig,
    *,
    guild_id: int,
    author_id: int,
    anonymous: bool = False,
    member_joined_at: datetime | str | None = None,
    now: datetime | str | None = None,
) -> None:
    """Refuse with a PostError when this member may not share in this server right now.

    The same checks `submit` makes, in the same order: posting turned off, blocked by the
    moderators, too new to the server, cooldown, daily cap, and (only when `anonymous` is True)
    anonymous posts not allowed. Call it before showing the /share form, so that a member who
    cannot post is told at once instead of after typing; `submit` checks again when the form
    arrives, because things can change meanwhile. Reads only; changes nothing.

    `config` is the server's settings (`GuildSettings.get(guild_id)`); `member_joined_at` is when
    the member joined the server, or None when unknown (then the minimum membership age is not
    held against them); `now` is for tests.
    """
    await _check_may_post(
        db.conn, config, guild_id=guild_id, author_id=author_id, anonymous=anonymous,
        member_joined_at=member_joined_at, now=_now(now),
    )


def _clean_texts(text: str, topic_hint: str | None) -> tuple[sanitize.CleanedText, str | None]:
    try:
        cleaned = sanitize.clean_post_text(text, min_len=MIN_POST_LENGTH, max_len=MAX_POST_LENGTH)
    except PostError:
        raise
    except UserFacingError as error:
        raise PostError("bad_text", str(error)) from error
    hint = None
    if topic_hint is not None and sanitize.remove_hidden_characters(topic_hint).strip():
        try:
            hint = sanitize.clean_post_text(
                topic_hint, min_len=1, max_len=MAX_TOPIC_HINT_LENGTH, what="topic hint"
            ).text
        except UserFacingError as error:
            raise PostError("bad_topic_hint", str(error)) from error
    return cleaned, hint


def _prepare(text: str, topic_hint: str | None) -> tuple[sanitize.CleanedText, str | None, safety.SafetyScan]:
    """Clean and scan a submission: CPU only (a few ms for a long post), run in a worker thread."""
    cleaned, hint = _clean_texts(text, topic_hint)
    return cleaned, hint, safety.scan(cleaned.text)


def _merged_flags(*groups: Iterable[str]) -> list[str]:
    merged: list[str] = []
    for group in groups:
        for flag in group:
            if flag not in merged:
                merged.append(flag)
    return merged


async def submit(
    db: Database,
    settings: Any,
    *,
    guild_id: int,
    author_id: int,
    author_name: str | None,
    anonymous: bool,
    text: str,
    topic_hint: str | None = None,
    interaction_id: int | None,
    member_joined_at: datetime | str | None = None,
    now: datetime | str | None = None,
) -> SubmitResult:
    """Store a member's post as pending, committed before this returns.

    Refusals (posting off, blocked, too new, cooldown, daily cap, anonymity not allowed, bad text)
    raise PostError and change nothing. The same `interaction_id` twice returns the first post with
    `created=False`: Discord may deliver an interaction again, and the member is thanked only once.
    """
    when = _now(now)
    config = await settings.get(guild_id)

    # A quick refusal without taking the write lock; checked again under it below. Skipped when
    # this interaction already made a post: a second delivery must not meet its own cooldown.
    seen = interaction_id is not None and await _one(
        db.conn, "SELECT 1 FROM posts WHERE interaction_id = ?", (interaction_id,)
    )
    cleaned = hint = scan = None
    if not seen:
        await _check_may_post(
            db.conn, config, guild_id=guild_id, author_id=author_id, anonymous=anonymous,
            member_joined_at=member_joined_at, now=when,
        )
        cleaned, hint, scan = await asyncio.to_thread(_prepare, text, topic_hint)

    async with db.transaction() as tx:
        existing = await _post_of_interaction(tx, interaction_id, guild_id=guild_id, author_id=author_id)
        if existing is None:
            # The authoritative check: nothing else can write between it and the insert.
            await _check_may_post(
                tx, config, guild_id=guild_id, author_id=author_id, anonymous=anonymous,
                member_joined_at=member_joined_at, now=when,
            )
            if cleaned is None:  # a post for this interaction was being written, and then was not
                cleaned, hint, scan = _prepare(text, topic_hint)
            post = await _insert_post(
                tx, guild_id=guild_id, author_id=author_id, author_name=author_name, anonymous=anonymous,
                cleaned=cleaned, hint=hint, scan=scan, interaction_id=interaction_id, when=when,
            )
    if existing is not None:
        return SubmitResult(existing, created=False, scan=await asyncio.to_thread(safety.scan, existing.text))
    return SubmitResult(post, created=True, scan=scan)


async def _post_of_interaction(
    tx: aiosqlite.Connection, interaction_id: int | None, *, guild_id: int, author_id: int
) -> Post | None:
    if interaction_id is None:
        return None
    row = await _one(tx, "SELECT id FROM posts WHERE interaction_id = ?", (interaction_id,))
    if row is None:
        return None
    existing = await _post(tx, row["id"])
    if existing.author_id != author_id or existing.guild_id != guild_id:
        # Interaction ids are unique in Discord; a mismatch is a forged or broken request.
        raise PostError("bad_request", "That request could not be matched to your post.")
    return existing


async def _insert_post(
    tx: aiosqlite.Connection, *, guild_id: int, author_id: int, author_name: str | None, anonymous: bool,
    cleaned: sanitize.CleanedText, hint: str | None, scan: safety.SafetyScan, interaction_id: int | None,
    when: datetime,
) -> Post:
    flags = _merged_flags(scan.flags, cleaned.flags)
    number_row = await _one(
        tx,
        "INSERT INTO guild_post_counters(guild_id, last_number) VALUES (?, 1) "
        "ON CONFLICT(guild_id) DO UPDATE SET last_number = last_number + 1 RETURNING last_number",
        (guild_id,),
    )
    number = number_row["last_number"]
    name = None if anonymous else ((author_name or "").strip()[:100] or None)
    row = await _one(
        tx,
        "INSERT INTO posts(guild_id, number, author_id, author_name, anonymous, text, topic_hint,"
        " state, urgent, flags, interaction_id, created_at, queue_next_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING id",
        (guild_id, number, author_id, name, int(bool(anonymous)), cleaned.text, hint,
         int(bool(scan.crisis)), json.dumps(flags), interaction_id, _iso(when),
         _iso(when + timedelta(seconds=QUEUE_LEASE_SECONDS))),
    )
    post_id = row["id"]
    post_topics = await topics.tag_post(tx, post_id, guild_id, cleaned.text, approved=False)
    await _event(tx, post_id, guild_id, "created", author_id, when,
                 {"urgent": bool(scan.crisis), "flags": flags, "anonymous": bool(anonymous)})
    await audit.record(
        tx, guild_id=guild_id, actor_id=author_id, action="post.submitted", target=f"post:{post_id}",
        detail={"number": number, "urgent": bool(scan.crisis), "flags": flags},
    )
    return await _post(tx, post_id, post_topics)


# -- the queue ------------------------------------------------------------------------------

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
        if row is None or row["state"] == "withdrawn" or row["queue_message_id"] is not None:
            await _mark_stale(tx, None if row is None else row["guild_id"], channel_id, message_id, "queue", when)
            return False
        await _change(
            tx,
            "UPDATE posts SET queue_channel_id = ?, queue_message_id = ?, queue_error = NULL, queue_next_at = NULL"
            " WHERE id = ? AND queue_message_id IS NULL",
            (channel_id, message_id, post_id),
        )
    return True


async def posts_to_queue(
    db: Database, now: datetime | str | None = None, *, limit: int = 20,
    lease_seconds: int = QUEUE_LEASE_SECONDS,
) -> list[Post]:
    """Pending posts that should be in their server's queue channel but have no embed there yet.

    Only servers with a queue channel set (the others review with /mod queue). Due posts only:
    a new post is left to the member's own /share for `QUEUE_LEASE_SECONDS`, and one whose
    posting failed waits for its retry time (`mark_queue_failed`). Urgent posts first, then the
    oldest; at most `limit`. The posts returned are set aside for `lease_seconds`: call
    `set_queue_message` or `mark_queue_failed` for each; one left without either (the bot stopped)
    comes back after the lease.
    """
    when = _now(now)
    async with db.transaction() as tx:
        # A server has a queue channel when the setting is stored: only values other than the
        # default (none) are kept, and setting it back to none removes the row. Ids first, so that
        # only the chosen posts are read whole.
        ids = [row["id"] for row in await _all(
            tx,
            "SELECT id FROM posts WHERE state = 'pending' AND queue_message_id IS NULL"
            " AND (queue_next_at IS NULL OR queue_next_at <= ?)"
            " AND guild_id IN (SELECT guild_id FROM guild_settings WHERE key = ? AND value NOT IN ('null', '\"\"'))"
            " ORDER BY urgent DESC, id LIMIT ?",
            (_iso(when), QUEUE_CHANNEL_SETTING, max(1, int(limit))),
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
        await _event(tx, post_id, row["guild_id"], "queue_failed", None, when,
                     {"error": error, "attempt": attempts, "retry_at": _iso(retry_at)})
        return await _post(tx, post_id)


async def post_history(db: Database, post_id: int) -> list[PostEvent]:
    rows = await db.fetchall("SELECT * FROM post_events WHERE post_id = ? ORDER BY id", (post_id,))
    return [
        PostEvent(r["id"], r["post_id"], r["event"], r["actor_id"], json.loads(r["detail"] or "{}"), r["created_at"])
        for r in rows
    ]


def _already_decided_message(row: Any) -> str:
    label = f"Post #{row['number']}"
    if row["state"] == "withdrawn":
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
) -> Post:
    """Approve or reject a pending post; committed before this returns.

    Refused when the post does not exist in this server or is no longer pending (two moderators
    clicking at once: exactly one wins). A rejection needs a reason, which the author is shown.
    Approval makes the post quotable and due for publishing.
    """
    when = _now(now)
    cleaned_reason = _clean_reason(reason)
    if not approve and cleaned_reason is None:
        raise PostError("reason_required", "Please give the author a short reason for rejecting their post.")
    state = "approved" if approve else "rejected"

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
        await _event(tx, post_id, guild_id, state, moderator_id, when)
        await audit.record(
            tx, guild_id=guild_id, actor_id=moderator_id, action=f"post.{state}", target=f"post:{post_id}",
            detail={"number": row["number"]},
        )
        post = await _post(tx, post_id)
    return post


async def record_refusal(
    db: Database, *, guild_id: int | None, actor_id: int, attempted: str, post_id: int | None = None
) -> None:
    """Audit a member without the moderator role pressing a moderation button or command."""
    async with db.transaction() as tx:
        await audit.record(
            tx, guild_id=guild_id, actor_id=actor_id, action="moderation.refused",
            target=None if post_id is None else f"post:{post_id}", detail={"attempted": str(attempted)[:100]},
        )


# -- blocking -------------------------------------------------------------------------------

async def block(db: Database, guild_id: int, user_id: int, moderator_id: int) -> bool:
    """Stop a member from posting in this server. False when they were already blocked."""
    if user_id == moderator_id:
        raise PostError("block_self", "You cannot block yourself.")
    async with db.transaction() as tx:
        changed = await _change(
            tx,
            "INSERT INTO blocked_members(guild_id, user_id, blocked_by, blocked_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(guild_id, user_id) DO NOTHING",
            (guild_id, user_id, moderator_id, _iso(_now(None))),
        )
        if changed:
            await audit.record(tx, guild_id=guild_id, actor_id=moderator_id, action="member.blocked",
                               target=f"user:{user_id}")
    return bool(changed)


async def block_author(db: Database, *, post_id: int, guild_id: int, moderator_id: int) -> tuple[Post, bool]:
    """The queue's "Block author" button: block whoever wrote this post (their name may be hidden).

    Returns the post and whether the author was newly blocked; the post itself is left for a
    decision. Refused like `decide` when the post is not in this server.
    """
    post = await get_post(db, post_id, guild_id=guild_id)
    if post is None:
        raise PostError("not_found", "That post does not exist in this server.")
    return post, await block(db, guild_id, post.author_id, moderator_id)


async def unblock(db: Database, guild_id: int, user_id: int, moderator_id: int) -> bool:
    """Let a blocked member post again. False when they were not blocked."""
    async with db.transaction() as tx:
        changed = await _change(tx, "DELETE FROM blocked_members WHERE guild_id = ? AND user_id = ?",
                                (guild_id, user_id))
        if changed:
            await audit.record(tx, guild_id=guild_id, actor_id=moderator_id, action="member.unblocked",
                               target=f"user:{user_id}")
    return bool(changed)


async def is_blocked(db: Database, guild_id: int, user_id: int) -> bool:
    return bool(await db.fetchval(
        "SELECT 1 FROM blocked_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    ))


async def blocked_members(db: Database, guild_id: int) -> list[BlockedMember]:
    rows = await db.fetchall(
        "SELECT * FROM blocked_members WHERE guild_id = ? ORDER BY blocked_at, user_id", (guild_id,)
    )
    return [BlockedMember(r["guild_id"], r["user_id"], r["blocked_by"], r["blocked_at"]) for r in rows]


# -- publishing -----------------------------------------------------------------------------

async def posts_to_publish(
    db: Database, now: datetime | str | None = None, *, limit: int = 20,
    lease_seconds: int = PUBLISH_LEASE_SECONDS,
) -> list[Post]:
    """Approved posts not yet in the posts channel whose retry time has come, oldest first.

    The posts returned are set aside for `lease_seconds`: call `mark_published` or
    `mark_publish_failed` for each. One left without either (the bot stopped) comes back after
    the lease, so nothing is lost.
    """
    when = _now(now)
    async with db.transaction() as tx:
        due = await _posts(
            tx,
            "SELECT * FROM posts WHERE state = 'approved' AND publish_state IN ('unpublished', 'failed')"
            " AND publish_next_at <= ? ORDER BY publish_next_at, id LIMIT ?",
            (_iso(when), max(1, int(limit))),
        )
        if due:
            marks = ",".join("?" * len(due))
            await _change(
                tx, f"UPDATE posts SET publish_next_at = ? WHERE id IN ({marks})",
                [_iso(when + timedelta(seconds=lease_seconds)), *[p.id for p in due]],
            )
    return due


async def mark_published(
    db: Database, post_id: int, message_id: int, *, channel_id: int | None = None,
    now: datetime | str | None = None,
) -> bool:
    """Record the published message; True only for the call that recorded it (exactly once).

    False when the post was already published with another message, or was withdrawn or deleted
    while it was being published: the message just sent is then listed by `messages_to_remove`
    (pass `channel_id` so that it can be found).
    """
    when = _now(now)
    async with db.transaction() as tx:
        changed = await _change(
            tx,
            "UPDATE posts SET publish_state = 'published', published_channel_id = ?, published_message_id = ?,"
            " published_at = ?, publish_error = NULL, publish_next_at = NULL"
            " WHERE id = ? AND state = 'approved' AND publish_state IN ('unpublished', 'failed')",
            (channel_id, message_id, _iso(when), post_id),
        )
        if changed:
            row = await _one(tx, "SELECT guild_id, publish_attempts FROM posts WHERE id = ?", (post_id,))
            await _event(tx, post_id, row["guild_id"], "published", None, when,
                         {"message_id": message_id, "failed_attempts": row["publish_attempts"]})
            return True
        row = await _one(tx, "SELECT guild_id, published_message_id FROM posts WHERE id = ?", (post_id,))
        if row is not None and row["published_message_id"] == message_id:
            return False  # the same message recorded twice: nothing to undo
        await _mark_stale(tx, None if row is None else row["guild_id"], channel_id, message_id, "published", when)
    return False


async def mark_publish_failed(
    db: Database, post_id: int, error: str, retry_in_seconds: float | None = None,
    *, now: datetime | str | None = None,
) -> Post | None:
    """Publishing failed: keep the post approved and unpublished, note why, and retry later.

    `retry_in_seconds` is Discord's retry_after on a 429; otherwise the pause grows with each
    attempt (30 s, 1 min, 2 min, ... at most an hour). Returns the post (its `publish_error` and
    `publish_attempts` tell the moderator why), or None when it no longer needs publishing.
    """
    when = _now(now)
    error = _error_text(error)
    async with db.transaction() as tx:
        row = await _one(
            tx,
            "SELECT guild_id, publish_attempts FROM posts WHERE id = ? AND state = 'approved'"
            " AND publish_state IN ('unpublished', 'failed')",
            (post_id,),
        )
        if row is None:
            return None
        attempts = row["publish_attempts"] + 1
        retry_at = _next_try(when, attempts, retry_in_seconds)
        await _change(
            tx,
            "UPDATE posts SET publish_state = 'failed', publish_attempts = ?, publish_error = ?,"
            " publish_next_at = ? WHERE id = ?",
            (attempts, error, _iso(retry_at), post_id),
        )
        await _event(tx, post_id, row["guild_id"], "publish_failed", None, when,
                     {"error": error, "attempt": attempts, "retry_at": _iso(retry_at)})
        return await _post(tx, post_id)


# -- telling the author ---------------------------------------------------------------------

async def decisions_to_notify(db: Database, *, limit: int = 20) -> list[Post]:
    """Decided posts whose author has not been told yet (say the bot restarted before the DM)."""
    return await _posts(
        db.conn,
        "SELECT * FROM posts WHERE state IN ('approved', 'rejected') AND author_notified IS NULL"
        " ORDER BY decided_at, id LIMIT ?",
        (max(1, int(limit)),),
    )


async def mark_author_notified(
    db: Database, post_id: int, ok: bool, *, now: datetime | str | None = None
) -> bool:
    """Record whether the decision DM reached the author (False: DMs closed; /myposts shows it)."""
    when = _now(now)
    result = "dm_sent" if ok else "dm_failed"
    async with db.transaction() as tx:
        row = await _one(tx, "SELECT guild_id FROM posts WHERE id = ?", (post_id,))
        if row is None:
            return False
        await _change(tx, "UPDATE posts SET author_notified = ?, author_notified_at = ? WHERE id = ?",
                      (result, _iso(when), post_id))
        await _event(tx, post_id, row["guild_id"], result, None, when)
    return True


# -- messages that must go ------------------------------------------------------------------

async def messages_to_remove(
    db: Database, now: datetime | str | None = None, *, limit: int = 20
) -> list[StaleMessage]:
    """Queue embeds and published copies of withdrawn or forgotten posts, to delete in Discord."""
    rows = await db.fetchall(
        "SELECT * FROM stale_messages WHERE next_at <= ? ORDER BY id LIMIT ?",
        (_iso(_now(now)), max(1, int(limit))),
    )
    return [StaleMessage(r["id"], r["guild_id"], r["channel_id"], r["message_id"], r["kind"], r["attempts"])
            for r in rows]


async def mark_message_removed(db: Database, stale_id: int) -> None:
    """The message is gone (deleted now, or Discord says it no longer exists)."""
    async with db.transaction() as tx:
        await _change(tx, "DELETE FROM stale_messages WHERE id = ?", (stale_id,))


async def mark_message_removal_failed(
    db: Database, stale_id: int, error: str, retry_in_seconds: float | None = None,
    *, now: datetime | str | None = None,
) -> None:
    when = _now(now)
    async with db.transaction() as tx:
        row = await _one(tx, "SELECT attempts FROM stale_messages WHERE id = ?", (stale_id,))
        if row is None:
            return
        attempts = row["attempts"] + 1
        await _change(
            tx, "UPDATE stale_messages SET attempts = ?, last_error = ?, next_at = ? WHERE id = ?",
            (attempts, _error_text(error), _iso(_next_try(when, attempts, retry_in_seconds)), stale_id),
        )


# -- members' own data ----------------------------------------------------------------------

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
    in the database file, and the write-ahead log emptied after the commit); the queue embed and
    any published copy are listed by `messages_to_remove`."""
    when = _now(now)
    async with db.transaction() as tx:
        row = await _one(tx, "SELECT * FROM posts WHERE id = ?", (post_id,))
        if row is None or row["author_id"] != author_id or (guild_id is not None and row["guild_id"] != guild_id):
            raise PostError("not_found", "You have no such post here.")
        if row["state"] == "withdrawn":
            raise PostError("already_withdrawn", f"Post #{row['number']} was already withdrawn.")
        await _mark_stale(tx, row["guild_id"], row["queue_channel_id"], row["queue_message_id"], "queue", when)
        await _mark_stale(tx, row["guild_id"], row["published_channel_id"], row["published_message_id"],
                          "published", when)
        changed = await _change(
            tx,
            "UPDATE posts SET state = 'withdrawn', text = '', author_name = NULL, topic_hint = NULL,"
            " queue_channel_id = NULL, queue_message_id = NULL,"
            " published_channel_id = NULL, published_message_id = NULL, publish_next_at = NULL"
            " WHERE id = ? AND state != 'withdrawn'",
            (post_id,),
        )
        if not changed:  # cannot happen under the write lock; kept so a change there fails loudly
            raise PostError("already_withdrawn", f"Post #{row['number']} was already withdrawn.")
        await topics.untag_post(tx, post_id)
        await _event(tx, post_id, row["guild_id"], "withdrawn", author_id, when, {"was": row["state"]})
        await audit.record(
            tx, guild_id=row["guild_id"], actor_id=author_id, action="post.withdrawn", target=f"post:{post_id}",
            detail={"number": row["number"], "was": row["state"]},
        )
        post = await _post(tx, post_id)
    await db.checkpoint()  # the text goes from the database files too, not only from what SQL sees
    return post


def _id(value: int | None) -> str | None:
    # Discord ids exceed what JavaScript numbers hold exactly; Discord itself sends them as text.
    return None if value is None else str(value)


async def export_member_data(db: Database, user_id: int) -> dict[str, Any]:
    """Everything the bot keeps about one member, in every server, as JSON-ready data."""
    conn = db.conn
    posts = await _posts(conn, "SELECT * FROM posts WHERE author_id = ? ORDER BY id", (user_id,))
    history: dict[int, list[dict[str, Any]]] = {p.id: [] for p in posts}
    for post in posts:
        for event in await post_history(db, post.id):
            history[post.id].append({"event": event.event, "at": event.created_at})
    blocks = await _all(conn, "SELECT guild_id, blocked_at FROM blocked_members WHERE user_id = ? ORDER BY guild_id",
                        (user_id,))
    settings_rows = await _all(
        conn, "SELECT guild_id, key, value, updated_at FROM guild_settings WHERE updated_by = ? ORDER BY guild_id, key",
        (user_id,),
    )
    audit_rows = await _all(
        conn, "SELECT guild_id, action, target, detail, created_at FROM audit_log WHERE actor_id = ? ORDER BY id",
        (user_id,),
    )
    searches = await _all(
        conn, "SELECT DISTINCT guild_id, query_key FROM quote_seen WHERE user_id = ? ORDER BY guild_id, query_key",
        (user_id,),
    )
    shown = await _all(
        conn, "SELECT guild_id, channel_id, source, item_id, shown_at FROM quote_history WHERE user_id = ? ORDER BY id",
        (user_id,),
    )
    return {
        "user_id": _id(user_id),
        "generated_at": _iso(_now(None)),
        "posts": [
            {
                "server_id": _id(p.guild_id),
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
                "published": p.publish_state == "published",
                "you_were_told": {None: "not yet", "dm_sent": "by DM", "dm_failed": "DMs closed"}[p.author_notified],
                "history": history[p.id],
            }
            for p in posts
        ],
        "blocked_in_servers": [{"server_id": _id(r["guild_id"]), "blocked_at": r["blocked_at"]} for r in blocks],
        "server_settings_you_changed": [
            {"server_id": _id(r["guild_id"]), "setting": r["key"], "value": json.loads(r["value"]),
             "changed_at": r["updated_at"]}
            for r in settings_rows
        ],
        "your_actions_in_the_audit_log": [
            {"server_id": _id(r["guild_id"]), "action": r["action"], "target": r["target"],
             "detail": json.loads(r["detail"] or "{}"), "at": r["created_at"]}
            for r in audit_rows
        ],
        # Kept so that "Another" in /quote does not repeat itself; pruned after a few weeks.
        "quote_searches_remembered": [{"server_id": _id(r["guild_id"]), "search": r["query_key"]} for r in searches],
        "quotes_shown_to_you": [
            {"server_id": _id(r["guild_id"]), "channel_id": _id(r["channel_id"]), "source": r["source"],
             "item_id": r["item_id"], "at": r["shown_at"]}
            for r in shown
        ],
    }


async def forget_member(db: Database, user_id: int, *, now: datetime | str | None = None) -> ForgetReport:
    """Delete a member's posts and personal data in every server, in one transaction.

    Goes: their posts (text, name, hints, topic tags, history), the audit rows they caused and
    those about their posts, their /quote searches and history, and their id on settings they
    changed or decisions they made as a moderator. Stays: blocks placed on them (ids only, lifting them is the moderators' call),
    and one audit row saying that a deletion happened, with no counts and no text. After the
    commit the write-ahead log is emptied, so that no copy of what was deleted stays in the files.
    """
    when = _now(now)
    async with db.transaction() as tx:
        rows = await _all(
            tx,
            "SELECT id, guild_id, queue_channel_id, queue_message_id, published_channel_id, published_message_id"
            " FROM posts WHERE author_id = ?",
            (user_id,),
        )
        messages = 0
        for row in rows:
            messages += await _mark_stale(tx, row["guild_id"], row["queue_channel_id"], row["queue_message_id"],
                                          "queue", when)
            messages += await _mark_stale(tx, row["guild_id"], row["published_channel_id"],
                                          row["published_message_id"], "published", when)
            await topics.untag_post(tx, row["id"])
        post_ids = [row["id"] for row in rows]
        for start in range(0, len(post_ids), 500):  # SQLite caps the number of ? in one statement
            chunk = post_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            await _change(tx, f"DELETE FROM post_events WHERE post_id IN ({marks})", chunk)
            await _change(tx, f"DELETE FROM audit_log WHERE target IN ({marks})", [f"post:{i}" for i in chunk])
        await _change(tx, "DELETE FROM posts WHERE author_id = ?", (user_id,))
        await _change(tx, "DELETE FROM audit_log WHERE actor_id = ?", (user_id,))
        # What they did as a moderator stays done, but no longer names them.
        await _change(tx, "UPDATE posts SET decided_by = NULL WHERE decided_by = ?", (user_id,))
        await _change(tx, "UPDATE post_events SET actor_id = NULL WHERE actor_id = ?", (user_id,))
        await _change(tx, "UPDATE blocked_members SET blocked_by = 0 WHERE blocked_by = ?", (user_id,))
        await _change(tx, "UPDATE guild_settings SET updated_by = NULL WHERE updated_by = ?", (user_id,))
        await quotes.forget_member(tx, user_id)  # the searches they made and the quotes they were shown
        still_blocked = await _all(tx, "SELECT guild_id FROM blocked_members WHERE user_id = ? ORDER BY guild_id",
                                   (user_id,))
        await audit.record(tx, guild_id=None, actor_id=user_id, action="member.forgotten", target=f"user:{user_id}")
    await db.checkpoint()  # the text goes from the database files too, not only from what SQL sees
    return ForgetReport(
        posts_deleted=len(rows),
        guild_ids=tuple(sorted({row["guild_id"] for row in rows})),
        messages_to_remove=messages,
        still_blocked_in=tuple(r["guild_id"] for r in still_blocked),
    )
