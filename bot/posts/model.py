"""What a post is: its states, the records the functions return, the limits, and the small time and
SQL helpers the rest of the package shares."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Iterable

import aiosqlite

from bot import safety, scans
from bot.audit import AuditEntry
from bot.errors import UserFacingError
from bot.guild_settings import setting
from bot.quotes import ANONYMOUS_MEMBER

# Text limits, the same as the /share modal's.
MIN_POST_LENGTH = 10
MAX_POST_LENGTH = 4000
MAX_TOPIC_HINT_LENGTH = 100
MAX_REASON_LENGTH = 1000

# The daily cap counts posts in the last 24 hours (a rolling window: servers span time zones).
DAILY_WINDOW = timedelta(hours=24)
# How long the rate-limit marks of a forgotten member are kept: the longest posting limit (the daily
# cap's window; the cooldown is at most a day too).
RATE_LIMIT_KEPT = DAILY_WINDOW

# Publishing and message clean-up retry with growing pauses; publishing never gives up.
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 3600
# A message that still shows withdrawn or forgotten text and that Discord keeps refusing to delete
# (the bot lost its permissions there, say) is tried for this long, then given up on, and the member
# is told where it is (/myposts, /mydata) so that they can ask the server's moderators.
REMOVAL_GIVE_UP = timedelta(days=7)
# What became of those deletions is kept this long after the last one was dealt with.
REMOVAL_NOTICE_KEPT = timedelta(days=30)
# A post handed to the publisher is not handed out again for this long, so two publishers (or a
# publisher that crashed mid-way) do not post it twice at once; after it, it is retried.
PUBLISH_LEASE_SECONDS = 120
# A new post's embed is posted to the queue channel by the member's own /share, at once. For this
# long nobody else posts it; after it (the bot stopped in between, say) the worker does.
QUEUE_LEASE_SECONDS = 60
# A decision DM handed to a process is not handed out again for this long.
NOTIFY_LEASE_SECONDS = 120
# Errors from Discord are stored for the moderator; they are short, but never trust a length.
MAX_ERROR_LENGTH = 500

# The one spelling of the anonymous label (quotes say it mid-sentence), capitalised as a name.
ANONYMOUS_NAME = ANONYMOUS_MEMBER.capitalize()
# The server setting naming the queue channel (looked up so that a rename fails loudly here).
QUEUE_CHANNEL_SETTING = setting("queue_channel").name


class PostError(UserFacingError):
    """A refusal a member or moderator sees; `kind` names the reason for code and tests."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class PostState(StrEnum):
    """Where a post stands: pending -> approved or rejected; any of those -> withdrawn by its author."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class PublishState(StrEnum):
    """An approved post's copy in the posts channel (None on a post that was never approved)."""

    UNPUBLISHED = "unpublished"
    PUBLISHED = "published"
    FAILED = "failed"


class AuthorNotified(StrEnum):
    """How the author was told of the decision (None: not yet)."""

    DM_SENT = "dm_sent"
    DM_FAILED = "dm_failed"


class PostEventName(StrEnum):
    """What a post's history (`post_events`) records: its states, and what happened in Discord."""

    CREATED = "created"
    APPROVED = PostState.APPROVED.value
    REJECTED = PostState.REJECTED.value
    WITHDRAWN = PostState.WITHDRAWN.value
    QUEUE_FAILED = "queue_failed"         # its embed could not be put in the queue channel (yet)
    PUBLISHED = PublishState.PUBLISHED.value
    PUBLISH_FAILED = "publish_failed"
    DM_SENT = AuthorNotified.DM_SENT.value
    DM_FAILED = AuthorNotified.DM_FAILED.value


class StaleKind(StrEnum):
    """A message in Discord that still shows text the database no longer keeps."""

    QUEUE = "queue"                       # the moderators' embed
    PUBLISHED = "published"               # a published post, or a public copy of it (a quote)


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
    state: PostState
    urgent: bool
    flags: tuple[str, ...]            # safety and cleaning flags for the moderator
    created_at: str
    decided_by: int | None
    decided_at: str | None
    reason: str | None
    queue_channel_id: int | None
    queue_message_id: int | None
    publish_state: PublishState | None  # None until approved
    publish_attempts: int
    publish_error: str | None
    publish_next_at: str | None
    published_channel_id: int | None
    published_message_id: int | None
    published_at: str | None
    author_notified: AuthorNotified | None  # None: not yet
    topics: tuple[str, ...] = ()      # detected topics
    queue_attempts: int = 0           # failed tries to post the embed to the queue channel
    queue_error: str | None = None    # why the last try failed
    queue_next_at: str | None = None  # not tried again before this time
    # The safety scan made when it was submitted (bot/scans.py); None for a post scanned before scans
    # were stored or by another detector, and for a withdrawn one.
    scan: safety.SafetyScan | None = None

    @property
    def possible_crisis(self) -> bool:
        """Urgent for the middle tier only: first in the queue, no alert and no message to the member."""
        return safety.POSSIBLE_CRISIS_FLAG in self.flags

    @property
    def alerts_moderators(self) -> bool:
        """Crisis language of the high tier: the member was shown the resources, the moderators are alerted."""
        return self.urgent and not self.possible_crisis

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
        return self.state in (PostState.APPROVED, PostState.REJECTED)


@dataclass(frozen=True)
class Decision:
    post: Post                        # the decided post, as committed
    audit: AuditEntry                 # the audit row the decision wrote, for the log channel


@dataclass(frozen=True)
class SubmitResult:
    post: Post
    created: bool                     # False: this interaction had already made this post
    scan: safety.SafetyScan           # crisis -> show the member the server's crisis resources


@dataclass(frozen=True)
class PostEvent:
    id: int
    post_id: int
    event: PostEventName
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
    kind: StaleKind
    attempts: int


@dataclass(frozen=True)
class BlockedMember:
    guild_id: int
    user_id: int
    blocked_by: int
    blocked_at: str


@dataclass(frozen=True)
class RemovalNotice:
    """What became of the messages a withdrawal (`post_number`) or "Forget me" (None) set out to delete."""
    guild_id: int | None
    post_number: int | None
    listed: int
    removed: int
    given_up: tuple[tuple[int | None, int], ...]  # (server, channel) of each message that could not be deleted
    created_at: str
    finished_at: str | None

    @property
    def pending(self) -> int:
        return self.listed - self.removed - len(self.given_up)


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
        state=PostState(row["state"]),
        urgent=bool(row["urgent"]),
        flags=tuple(json.loads(row["flags"] or "[]")),
        created_at=row["created_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        reason=row["reason"],
        queue_channel_id=row["queue_channel_id"],
        queue_message_id=row["queue_message_id"],
        publish_state=None if row["publish_state"] is None else PublishState(row["publish_state"]),
        publish_attempts=row["publish_attempts"],
        publish_error=row["publish_error"],
        publish_next_at=row["publish_next_at"],
        published_channel_id=row["published_channel_id"],
        published_message_id=row["published_message_id"],
        published_at=row["published_at"],
        author_notified=None if row["author_notified"] is None else AuthorNotified(row["author_notified"]),
        topics=tuple(post_topics),
        queue_attempts=row["queue_attempts"],
        queue_error=row["queue_error"],
        queue_next_at=row["queue_next_at"],
        scan=scans.from_row(row),
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
    conn: aiosqlite.Connection, post_id: int, guild_id: int, event: PostEventName, actor_id: int | None,
    when: datetime, detail: dict[str, Any] | None = None,
) -> None:
    await _change(
        conn,
        "INSERT INTO post_events(post_id, guild_id, event, actor_id, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (post_id, guild_id, event, actor_id, json.dumps(detail or {}, sort_keys=True), _iso(when)),
    )


def publish_nonce(post: Post) -> str:
    """The fixed nonce of a post's publication (Discord's `enforce_nonce`): sent again after a crash
    or a lost answer, it returns the message already made instead of a second copy."""
    return f"fc-pub-{post.id}"


def notify_nonce(post: Post) -> str:
    """The fixed nonce of the DM telling the author of a decision (one decision per post)."""
    return f"fc-dm-{post.id}"


async def _remove_copies(conn: aiosqlite.Connection, post_id: int, when: datetime, notice_id: int | None = None) -> int:
    """List every public copy of a post for removal (see `record_copies`); returns how many."""
    listed = 0
    for row in await _all(conn, "SELECT guild_id, channel_id, message_id FROM post_copies WHERE post_id = ?",
                          (post_id,)):
        listed += await _mark_stale(conn, row["guild_id"], row["channel_id"], row["message_id"], StaleKind.PUBLISHED,
                                    when, notice_id)
    await _change(conn, "DELETE FROM post_copies WHERE post_id = ?", (post_id,))
    return listed


async def _mark_stale(
    conn: aiosqlite.Connection, guild_id: int | None, channel_id: int | None, message_id: int | None,
    kind: StaleKind, when: datetime, notice_id: int | None = None,
) -> bool:
    if channel_id is None or message_id is None:
        return False
    changed = await _change(
        conn,
        "INSERT INTO stale_messages(guild_id, channel_id, message_id, kind, next_at, created_at, notice_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel_id, message_id) DO NOTHING",
        (guild_id, channel_id, message_id, kind, _iso(when), _iso(when), notice_id),
    )
    return changed > 0


# -- telling the member what became of the deletions ---------------------------------------------

async def _open_notice(conn: aiosqlite.Connection, key: str, guild_id: int | None, post_number: int | None,
                       when: datetime) -> int:
    row = await _one(conn, "INSERT INTO removal_notices(member_key, guild_id, post_number, created_at)"
                           " VALUES (?, ?, ?, ?) RETURNING id", (key, guild_id, post_number, _iso(when)))
    return row[0]


async def _close_listing(conn: aiosqlite.Connection, notice_id: int, listed: int) -> None:
    """The messages are listed: a notice with none to delete is not kept."""
    if listed:
        await _change(conn, "UPDATE removal_notices SET listed = ? WHERE id = ?", (listed, notice_id))
    else:
        await _change(conn, "DELETE FROM removal_notices WHERE id = ?", (notice_id,))


async def _notice_progress(conn: aiosqlite.Connection, notice_id: int | None, when: datetime, *,
                           removed: bool, where: tuple[int | None, int] | None = None) -> None:
    """One message of a notice is dealt with: removed, or given up on (`where` it is)."""
    if notice_id is None:
        return
    row = await _one(conn, "SELECT listed, removed, given_up FROM removal_notices WHERE id = ?", (notice_id,))
    if row is None:
        return
    count, given_up = row["removed"] + int(removed), json.loads(row["given_up"])
    if not removed and where is not None:
        given_up.append(list(where))
    done = count + len(given_up) >= row["listed"]
    await _change(conn, "UPDATE removal_notices SET removed = ?, given_up = ?, finished_at = ? WHERE id = ?",
                  (count, json.dumps(given_up), _iso(when) if done else None, notice_id))


