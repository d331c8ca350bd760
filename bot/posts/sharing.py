"""Sharing a post: the checks a member must pass (posting on, not blocked, cooldown, daily cap,
member age), then the cleaned and scanned post committed as pending, once per interaction."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any, Iterable

import aiosqlite

from bot import audit, safety, sanitize, scans, topics
from bot.errors import UserFacingError
from bot.guild_settings import GuildConfig
from bot.member_keys import member_key
from bot.posts.model import (
    DAILY_WINDOW,
    MAX_POST_LENGTH,
    MAX_TOPIC_HINT_LENGTH,
    MIN_POST_LENGTH,
    QUEUE_LEASE_SECONDS,
    Post,
    PostError,
    PostEventName,
    SubmitResult,
    _as_datetime,
    _event,
    _iso,
    _now,
    _one,
    _post,
    format_wait,
)
from bot.posts.review import BLOCKED_SQL
from bot.storage import Database


async def _check_may_post(
    conn: aiosqlite.Connection, config: Any, *, guild_id: int, author_id: int, anonymous: bool,
    member_joined_at: datetime | str | None, now: datetime, before_form: bool = False,
) -> None:
    """Refuse with a PostError when the member may not post now; in the order members meet them."""
    if not config.posting_enabled:
        raise PostError("posting_disabled", "Sharing posts is turned off in this server.")

    cap = int(config.daily_cap or 0)
    # The member's posts, and the marks left by posts they deleted with Forget me (by a keyed hash).
    key = await member_key(conn, author_id)
    row = await _one(
        conn,
        "WITH mine(created_at) AS ("
        " SELECT created_at FROM posts WHERE guild_id = ? AND author_id = ?"
        " UNION ALL SELECT created_at FROM rate_limit_marks WHERE guild_id = ? AND member_key = ?)"
        " SELECT"
        f" {BLOCKED_SQL} AS blocked,"
        " (SELECT MAX(created_at) FROM mine) AS last_at,"
        " (SELECT created_at FROM mine WHERE created_at > ? ORDER BY created_at DESC LIMIT 1 OFFSET ?) AS cap_at",
        (guild_id, author_id, guild_id, key, guild_id, author_id, guild_id, author_id,
         _iso(now - DAILY_WINDOW), max(cap - 1, 0)),
    )
    if row["blocked"]:
        raise PostError(
            "blocked",
            "The moderators of this server have paused your posting here, so "
            + ("the form to share a post will not open. " if before_form else "this post was not saved. ")
            + "If you think this is a mistake, please talk to a moderator.",
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
        member_joined_at=member_joined_at, now=_now(now), before_form=True,
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
    """Clean and scan a submission: CPU only (a few ms for a long post), run in a worker thread.
    This is the post's one scan: it is stored with the post, and its tags, the queue embed and the
    quote search read it."""
    cleaned, hint = _clean_texts(text, topic_hint)
    return cleaned, hint, safety.scan(scans.post_text(cleaned.text, hint))


# The most a post's cleaning and scanning may take (they are linear and take milliseconds; this is
# the guarantee if a pattern ever is not).
PREPARE_BUDGET_SECONDS = 10.0


async def _prepare_in_time(
    text: str, topic_hint: str | None
) -> tuple[sanitize.CleanedText, str | None, safety.SafetyScan]:
    # The budget counts from when a worker thread takes the post up: waiting for a free thread is
    # the bot's load (a thousand members submitting at once), not the post's, and refusing a post
    # for it would make sharing depend on how busy the machine is.
    loop = asyncio.get_running_loop()
    started = asyncio.Event()

    def work() -> tuple[sanitize.CleanedText, str | None, safety.SafetyScan]:
        loop.call_soon_threadsafe(started.set)
        return _prepare(text, topic_hint)

    job = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        waiter = asyncio.ensure_future(started.wait())
        await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        return await asyncio.wait_for(job, PREPARE_BUDGET_SECONDS)
    except TimeoutError:
        raise PostError(
            "too_slow",
            "Your post could not be checked in time, so it was not saved. Nothing you wrote is lost: "
            "your text is below. Please try again in a little while, or tell a moderator.",
        ) from None


def _merged_flags(*groups: Iterable[str]) -> list[str]:
    merged: list[str] = []
    for group in groups:
        for flag in group:
            if flag not in merged:
                merged.append(flag)
    return merged


async def submit(
    db: Database,
    config: GuildConfig,
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
    `config` is the server's settings, read once by the caller for the whole interaction.
    """
    when = _now(now)

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
        cleaned, hint, scan = await _prepare_in_time(text, topic_hint)

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
        scan = existing.scan or await asyncio.to_thread(
            safety.scan, scans.post_text(existing.text, existing.topic_hint))
        return SubmitResult(existing, created=False, scan=scan)
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
        "ON CONFLICT(guild_id) DO UPDATE SET last_number = guild_post_counters.last_number + 1 RETURNING last_number",
        (guild_id,),
    )
    number = number_row["last_number"]
    name = None if anonymous else ((author_name or "").strip()[:100] or None)
    row = await _one(
        tx,
        "INSERT INTO posts(guild_id, number, author_id, author_name, anonymous, text, topic_hint,"
        " state, urgent, flags, interaction_id, created_at, queue_next_at, " + ", ".join(scans.COLUMNS) + ")"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?" + ", ?" * len(scans.COLUMNS) + ") RETURNING id",
        (guild_id, number, author_id, name, int(bool(anonymous)), cleaned.text, hint,
         int(scan.urgent), json.dumps(flags), interaction_id, _iso(when),
         _iso(when + timedelta(seconds=QUEUE_LEASE_SECONDS)), *scans.values(scan)),
    )
    post_id = row["id"]
    post_topics = await topics.tag_post(tx, post_id, guild_id, cleaned.text, approved=False, hint=hint,
                                        sensitive=scan.sensitive)
    await _event(tx, post_id, guild_id, PostEventName.CREATED, author_id, when,
                 {"urgent": scan.urgent, "flags": flags, "anonymous": bool(anonymous)})
    await audit.record(
        tx, guild_id=guild_id, actor_id=author_id, action="post.submitted", target=f"post:{post_id}",
        detail={"number": number, "urgent": scan.urgent, "flags": flags},
    )
    return await _post(tx, post_id, post_topics)
