"""The posts core: sharing, limits, decisions, publishing, withdrawal, members' data rights."""

from __future__ import annotations

import ast
import asyncio
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import posts, privacy
from bot.errors import UserFacingError
from bot.guild_settings import GuildSettings
from bot.posts import PostError
from support import files_holding

GUILD = 1000
OTHER_GUILD = 2000
MOD = 9
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)

SLEEP_TEXT = "My sleep has been awful this week, I wake up at 3am hurting and can't get back to sleep."
PACING_TEXT = "Pacing my chores over the week has helped my fatigue more than anything else so far."

_next_interaction = iter(range(10_000, 10_000_000))


@pytest.fixture
async def settings(db):
    return GuildSettings(db)


async def share(db, settings, *, author=1, guild=GUILD, text=SLEEP_TEXT, anonymous=True, name="Robin",
                interaction=None, now=T0, joined=None, hint=None):
    return await posts.submit(
        db, await settings.get(guild), guild_id=guild, author_id=author, author_name=name, anonymous=anonymous, text=text,
        topic_hint=hint, interaction_id=next(_next_interaction) if interaction is None else interaction,
        member_joined_at=joined, now=now,
    )


async def snapshot(db) -> dict[str, int]:
    """Row counts of everything a submission writes: a refusal must leave all of them alone."""
    counts = {}
    for table in ("posts", "audit_log", "post_events", "guild_post_counters", "topic_tags", "stale_messages"):
        counts[table] = await db.fetchval(f"SELECT COUNT(*) FROM {table}")
    counts["counter_sum"] = await db.fetchval("SELECT COALESCE(SUM(last_number), 0) FROM guild_post_counters")
    return counts


async def refused(db, kind: str, attempt) -> str:
    """Run `attempt`, expect a PostError of `kind`, check nothing changed; return the message."""
    before = await snapshot(db)
    with pytest.raises(PostError) as caught:
        await attempt
    assert caught.value.kind == kind, str(caught.value)
    assert isinstance(caught.value, UserFacingError)
    assert await snapshot(db) == before
    return str(caught.value)


# -- sharing ----------------------------------------------------------------------------------

async def test_submit_stores_a_pending_post_before_returning(db, settings):
    result = await share(db, settings, text=SLEEP_TEXT + " Ping @everyone please", anonymous=True)
    post = result.post
    assert result.created is True
    assert post.state == "pending" and post.guild_id == GUILD and post.author_id == 1
    assert post.number == 1 and post.label == "Post #1"
    assert post.anonymous and post.author_name is None and post.shown_name == posts.ANONYMOUS_NAME
    assert "@everyone" not in post.text  # neutralised by the cleaner so that it can never ping
    assert "sleep" in post.topics
    # Urgency is the safety detector's verdict on the text (its middle tier can fire on an ordinary post).
    assert post.publish_state is None and post.urgent == result.scan.urgent

    # Committed: a second connection to the same file sees it.
    import sqlite3
    other = sqlite3.connect(db.path)
    try:
        assert other.execute("SELECT state FROM posts WHERE id = ?", (post.id,)).fetchone() == ("pending",)
    finally:
        other.close()

    audit_rows = await db.fetchall("SELECT * FROM audit_log WHERE action = 'post.submitted'")
    assert len(audit_rows) == 1 and audit_rows[0]["target"] == f"post:{post.id}"
    assert "sleep" not in audit_rows[0]["detail"].lower()
    assert [e.event for e in await posts.post_history(db, post.id)] == ["created"]


async def test_post_numbers_count_per_server(db, settings):
    a = await share(db, settings, author=1)
    b = await share(db, settings, author=2)
    c = await share(db, settings, author=1, guild=OTHER_GUILD)
    assert (a.post.number, b.post.number, c.post.number) == (1, 2, 1)
    assert (await posts.get_post_by_number(db, GUILD, 2)).id == b.post.id


async def test_named_post_keeps_the_name(db, settings):
    post = (await share(db, settings, anonymous=False, name="Robin")).post
    assert not post.anonymous and post.author_name == "Robin" and post.shown_name == "Robin"


async def test_same_interaction_twice_makes_one_post(db, settings):
    first = await share(db, settings, interaction=555)
    # Delivered again a minute later: inside the cooldown, yet it must not be refused.
    again = await share(db, settings, interaction=555, now=T0 + timedelta(minutes=1))
    assert first.created is True and again.created is False
    assert again.post.id == first.post.id
    assert await db.fetchval("SELECT COUNT(*) FROM posts") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'post.submitted'") == 1


async def test_same_interaction_delivered_twice_at_once(db, settings):
    results = await asyncio.gather(*(share(db, settings, interaction=777) for _ in range(5)))
    assert sorted(r.created for r in results) == [False, False, False, False, True]
    assert len({r.post.id for r in results}) == 1
    assert await db.fetchval("SELECT COUNT(*) FROM posts") == 1


async def test_crisis_language_is_urgent_and_listed_first(db, settings):
    # Not SLEEP_TEXT: "I wake up at 3am" reads as a possible crisis to the detector's middle tier
    # (one of its false alarms, which only puts a post first in the queue).
    calm = await share(db, settings, author=1, text=PACING_TEXT)
    crisis = await share(db, settings, author=2,
                         text="Honestly I don't want to be here anymore, the pain never lets up.")
    assert crisis.scan.crisis and crisis.post.urgent and "crisis" in " ".join(crisis.post.flags)
    assert not calm.post.urgent
    queue = await posts.pending(db, GUILD, limit=10)
    assert [p.id for p in queue] == [crisis.post.id, calm.post.id]
    assert await posts.pending_count(db, GUILD) == 2


async def test_figure_of_speech_is_not_urgent(db, settings):
    result = await share(db, settings, text="This flare is killing me, dead tired all day today.")
    assert not result.post.urgent and not result.scan.crisis


async def test_pending_is_oldest_first_and_paged(db, settings):
    made = [(await share(db, settings, author=a)).post.id for a in range(1, 6)]
    assert [p.id for p in await posts.pending(db, GUILD, limit=2)] == made[:2]
    assert [p.id for p in await posts.pending(db, GUILD, limit=2, offset=2)] == made[2:4]
    assert await posts.pending(db, OTHER_GUILD) == []


# -- limits -----------------------------------------------------------------------------------

async def test_cooldown_says_how_long(db, settings):
    await share(db, settings)  # default cooldown: 300 seconds
    message = await refused(db, "cooldown", share(db, settings, now=T0 + timedelta(seconds=60)))
    assert message == "You can share again in 4 minutes."
    message = await refused(db, "cooldown", share(db, settings, now=T0 + timedelta(seconds=290)))
    assert message == "You can share again in 10 seconds."
    assert (await share(db, settings, now=T0 + timedelta(seconds=300))).created
    # Another member is not held back by someone else's cooldown.
    assert (await share(db, settings, author=2, now=T0 + timedelta(seconds=301))).created


async def test_daily_cap_says_when_it_resets(db, settings):
    await settings.set(GUILD, "cooldown_seconds", 0, actor_id=MOD)
    await settings.set(GUILD, "daily_cap", 2, actor_id=MOD)
    await share(db, settings, now=T0)
    await share(db, settings, now=T0 + timedelta(hours=1))
    message = await refused(db, "daily_cap", share(db, settings, now=T0 + timedelta(hours=2)))
    assert "2 posts in the last 24 hours" in message
    assert message.endswith("You can share again in 22 hours.")
    # The window rolls: once the first post is 24 hours old, one more fits, then the second one's turn.
    assert (await share(db, settings, now=T0 + timedelta(hours=24, seconds=1))).created
    message = await refused(db, "daily_cap", share(db, settings, now=T0 + timedelta(hours=24, minutes=30)))
    assert message.endswith("You can share again in 30 minutes.")
    # The cap is per server.
    assert (await share(db, settings, guild=OTHER_GUILD, now=T0 + timedelta(hours=2))).created


async def test_new_members_wait_for_the_minimum_age(db, settings):
    await settings.set(GUILD, "min_member_age_hours", 24, actor_id=MOD)
    message = await refused(db, "too_new", share(db, settings, joined=T0 - timedelta(hours=23)))
    assert "24 hours" in message and message.endswith("You can share in 1 hour.")
    assert (await share(db, settings, joined=T0 - timedelta(hours=24))).created
    # Discord did not say when the member joined: not held against them.
    assert (await share(db, settings, author=2, joined=None)).created


async def test_blocked_member_is_told_politely(db, settings):
    blocked = await posts.block(db, GUILD, 1, MOD)
    assert (blocked.action, blocked.target, blocked.actor_id) == ("member.blocked", "user:1", MOD)
    assert await posts.block(db, GUILD, 1, MOD) is None  # already blocked
    assert await posts.is_blocked(db, GUILD, 1)
    message = await refused(db, "blocked", share(db, settings))
    assert "moderators" in message and "please" in message.lower()
    # Only in that server.
    assert (await share(db, settings, guild=OTHER_GUILD)).created
    unblocked = await posts.unblock(db, GUILD, 1, MOD)
    assert (unblocked.action, unblocked.target, unblocked.actor_id) == ("member.unblocked", "user:1", MOD)
    assert await posts.unblock(db, GUILD, 1, MOD) is None
    assert (await share(db, settings)).created
    actions = [r["action"] for r in await db.fetchall("SELECT action FROM audit_log WHERE target = 'user:1'")]
    assert actions == ["member.blocked", "member.unblocked"]


async def test_block_author_from_the_queue(db, settings):
    post = (await share(db, settings, author=5)).post
    with pytest.raises(PostError) as caught:
        await posts.block_author(db, post_id=post.id, guild_id=OTHER_GUILD, moderator_id=MOD)
    assert caught.value.kind == "not_found"
    assert not await posts.is_blocked(db, OTHER_GUILD, 5)
    found, entry = await posts.block_author(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD)
    assert found.id == post.id and (entry.action, entry.target) == ("member.blocked", f"post:{post.id}")
    assert await posts.is_blocked(db, GUILD, 5) and not await posts.is_blocked(db, GUILD, 6)
    assert (await posts.get_post(db, post.id)).state == "pending"  # still waits for a decision


async def test_moderators_cannot_block_themselves(db):
    with pytest.raises(PostError) as caught:
        await posts.block(db, GUILD, MOD, MOD)
    assert caught.value.kind == "block_self"


async def test_posting_disabled(db, settings):
    await settings.set(GUILD, "posting_enabled", False, actor_id=MOD)
    message = await refused(db, "posting_disabled", share(db, settings))
    assert message == "Sharing posts is turned off in this server."


async def test_anonymous_posts_when_the_server_does_not_allow_them(db, settings):
    await settings.set(GUILD, "anonymous_allowed", False, actor_id=MOD)
    message = await refused(db, "anonymous_not_allowed", share(db, settings, anonymous=True))
    assert "under your name" in message
    post = (await share(db, settings, anonymous=False, name="Robin")).post
    assert post.author_name == "Robin"


async def test_bad_text_is_refused_and_nothing_is_stored(db, settings):
    await refused(db, "bad_text", share(db, settings, text="   \n  "))
    await refused(db, "bad_text", share(db, settings, text="short"))
    message = await refused(db, "bad_text", share(db, settings, text="a" * 4001))
    assert "4,000" in message
    message = await refused(db, "bad_topic_hint", share(db, settings, hint="x" * 101))
    assert "topic hint" in message and "100" in message
    # A hint of nothing visible is no hint; the post itself is fine.
    assert (await share(db, settings, hint="\u200b")).post.topic_hint is None


async def test_text_is_cleaned_and_flagged_for_the_moderator(db, settings):
    post = (await share(db, settings, text="Join us at discord.gg/abcdef and ping <@&123> @here, sleep talk.",
                        hint="sleep <@42>")).post
    assert "<@&123>" not in post.text and "@here" not in post.text
    assert post.topic_hint == "sleep @user"
    assert {"invite_link", "mentions_neutralised"} <= set(post.flags)


async def test_limits_come_in_order(db, settings):
    # Blocked and posting off: posting off is said first; blocked before the cooldown.
    await share(db, settings)
    await posts.block(db, GUILD, 1, MOD)
    await refused(db, "blocked", share(db, settings, now=T0 + timedelta(seconds=10)))
    await settings.set(GUILD, "posting_enabled", False, actor_id=MOD)
    await refused(db, "posting_disabled", share(db, settings, now=T0 + timedelta(seconds=10)))


async def check(db, settings, *, author=1, guild=GUILD, anonymous=False, now=T0, joined=None):
    config = await settings.get(guild)
    return await posts.check_may_post(db, config, guild_id=guild, author_id=author, anonymous=anonymous,
                                      member_joined_at=joined, now=now)


async def test_check_may_post_refuses_as_submit_does_and_changes_nothing(db, settings):
    """/share asks before opening the form: the same refusal, word for word, as submitting would get."""
    assert await check(db, settings) is None
    await share(db, settings)
    later = T0 + timedelta(seconds=60)
    before_form = await refused(db, "cooldown", check(db, settings, now=later))
    assert before_form == "You can share again in 4 minutes."
    assert before_form == await refused(db, "cooldown", share(db, settings, now=later))
    assert await check(db, settings, author=2, now=later) is None, "another member is not held back"

    await settings.set(GUILD, "min_member_age_hours", 24, actor_id=MOD)
    too_new = await refused(db, "too_new", check(db, settings, author=3, joined=T0 - timedelta(hours=20)))
    assert too_new.endswith("You can share in 4 hours.")
    assert await check(db, settings, author=3, joined=None) is None, "an unknown join time is not held against them"

    await settings.set(GUILD, "anonymous_allowed", False, actor_id=MOD)
    # Before the form, the member has not chosen yet: anonymity is only checked when asked about.
    assert await check(db, settings, author=2, now=later) is None
    await refused(db, "anonymous_not_allowed", check(db, settings, author=2, anonymous=True, now=later))

    await posts.block(db, GUILD, 2, MOD)
    blocked = await refused(db, "blocked", check(db, settings, author=2, now=later))
    # The same refusal, in words that fit the moment: before the form, there is no post yet.
    assert "the form to share a post will not open" in blocked and "not saved" not in blocked
    after = await refused(db, "blocked", share(db, settings, author=2, anonymous=False, now=later))
    assert "this post was not saved" in after
    assert await check(db, settings, author=2, guild=OTHER_GUILD, now=later) is None, "blocks are per server"

    await settings.set(GUILD, "posting_enabled", False, actor_id=MOD)
    await refused(db, "posting_disabled", check(db, settings, author=2, now=later))


async def test_check_may_post_counts_the_daily_cap(db, settings):
    await settings.set(GUILD, "cooldown_seconds", 0, actor_id=MOD)
    await settings.set(GUILD, "daily_cap", 1, actor_id=MOD)
    assert await check(db, settings) is None
    await share(db, settings)
    message = await refused(db, "daily_cap", check(db, settings, now=T0 + timedelta(hours=3)))
    assert "1 post in the last 24 hours" in message and message.endswith("You can share again in 21 hours.")
    assert await check(db, settings, now=T0 + timedelta(hours=24)) is None


def test_nothing_outside_the_core_calls_its_private_functions():
    """The cogs use the documented functions only: a private helper may change without notice."""
    root = Path(posts.__file__).resolve().parents[2]
    offenders = []
    for path in sorted([*root.joinpath("cogs").rglob("*.py"), *root.joinpath("bot").rglob("*.py")]):
        if path.parent == Path(posts.__file__).resolve().parent:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "posts"
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                offenders.append(f"{path.relative_to(root)}:{node.lineno} posts.{node.attr}")
    assert offenders == []


# -- decisions --------------------------------------------------------------------------------

async def test_approve_makes_the_post_quotable_and_due_for_publishing(db, settings):
    post = (await share(db, settings)).post
    assert await db.fetchval("SELECT MAX(quotable) FROM topic_tags WHERE source = 'post' AND item_id = ?",
                             (post.id,)) == 0
    decision = await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=True,
                                  now=T0 + timedelta(minutes=5))
    approved = decision.post
    assert (decision.audit.action, decision.audit.target, decision.audit.actor_id) == ("post.approved", f"post:{post.id}", MOD)
    assert approved.state == "approved" and approved.decided_by == MOD
    assert approved.decided_at == (T0 + timedelta(minutes=5)).isoformat()
    assert approved.publish_state == "unpublished"
    assert await db.fetchval("SELECT MIN(quotable) FROM topic_tags WHERE source = 'post' AND item_id = ?",
                             (post.id,)) == 1
    history = [e.event for e in await posts.post_history(db, post.id)]
    assert history == [posts.PostEventName.CREATED, posts.PostEventName.APPROVED] == ["created", "approved"]
    assert all(type(e) is posts.PostEventName for e in history)
    row = await db.fetchone("SELECT actor_id, target FROM audit_log WHERE action = 'post.approved'")
    assert (row["actor_id"], row["target"]) == (MOD, f"post:{post.id}")


async def test_reject_needs_and_keeps_a_reason(db, settings):
    post = (await share(db, settings)).post
    before = await snapshot(db)
    for empty in (None, "", "   ", "\u200b\u200b"):
        with pytest.raises(PostError) as caught:
            await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=False, reason=empty)
        assert caught.value.kind == "reason_required"
    with pytest.raises(PostError) as caught:
        await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=False, reason="x" * 1001)
    assert caught.value.kind == "bad_reason" and "1,000" in str(caught.value)
    assert await snapshot(db) == before
    assert (await posts.get_post(db, post.id)).state == "pending"

    rejected = (await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=False,
                                   reason="Please leave out the doctor's full name.")).post
    assert rejected.state == "rejected" and rejected.reason == "Please leave out the doctor's full name."
    assert rejected.publish_state is None
    mine = await posts.my_posts(db, GUILD, 1)
    assert [(p.state, p.reason) for p in mine] == [("rejected", "Please leave out the doctor's full name.")]
    assert await posts.posts_to_publish(db, T0 + timedelta(days=1)) == []


async def test_decisions_refused_for_another_server_or_a_missing_post(db, settings):
    post = (await share(db, settings)).post
    before = await snapshot(db)
    for post_id, guild in ((post.id, OTHER_GUILD), (post.id + 999, GUILD)):
        with pytest.raises(PostError) as caught:
            await posts.decide(db, post_id=post_id, guild_id=guild, moderator_id=MOD, approve=True)
        assert caught.value.kind == "not_found"
        assert str(caught.value) == "That post does not exist in this server."
    assert await snapshot(db) == before
    assert await posts.get_post(db, post.id, guild_id=OTHER_GUILD) is None
    assert (await posts.get_post(db, post.id, guild_id=GUILD)).state == "pending"


async def test_already_decided_is_refused(db, settings):
    post = (await share(db, settings)).post
    await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=True)
    before = await snapshot(db)
    with pytest.raises(PostError) as caught:
        await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD + 1, approve=False, reason="no")
    assert caught.value.kind == "already_decided"
    assert str(caught.value) == "Post #1 was already approved."
    assert await snapshot(db) == before
    assert (await posts.get_post(db, post.id)).decided_by == MOD


async def test_two_moderators_clicking_at_once_one_wins(db, settings):
    post = (await share(db, settings)).post
    attempts = [
        posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD + i, approve=i % 2 == 0, reason="off topic")
        for i in range(6)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    wins = [r.post for r in results if isinstance(r, posts.Decision)]
    losses = [r for r in results if isinstance(r, PostError)]
    assert len(wins) == 1 and len(losses) == 5
    assert all(e.kind == "already_decided" for e in losses)
    stored = await posts.get_post(db, post.id)
    assert (stored.state, stored.decided_by) == (wins[0].state, wins[0].decided_by)
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'post.%ed' AND action != 'post.submitted'") == 1


async def test_refusal_of_a_non_moderator_is_audited(db, settings):
    post = (await share(db, settings)).post
    await posts.record_refusal(db, guild_id=GUILD, actor_id=42, attempted="approve", post_id=post.id)
    row = await db.fetchone("SELECT * FROM audit_log WHERE action = 'moderation.refused'")
    assert row["actor_id"] == 42 and row["target"] == f"post:{post.id}"
    assert json.loads(row["detail"]) == {"attempted": "approve"}
    assert (await posts.get_post(db, post.id)).state == "pending"


# -- publishing and telling the author --------------------------------------------------------

async def approved_post(db, settings, author=1, when=T0):
    post = (await share(db, settings, author=author, now=when)).post
    return (await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=True, now=when)).post


async def test_publishing_is_recorded_exactly_once(db, settings):
    post = await approved_post(db, settings)
    due = await posts.posts_to_publish(db, T0)
    assert [p.id for p in due] == [post.id]
    # Handed out: not handed out again while the publisher works on it.
    assert await posts.posts_to_publish(db, T0 + timedelta(seconds=10)) == []

    results = await asyncio.gather(
        posts.mark_published(db, post.id, 5001, channel_id=77),
        posts.mark_published(db, post.id, 5002, channel_id=77),
    )
    assert sorted(r is not None for r in results) == [False, True]
    stored = await posts.get_post(db, post.id)
    assert stored.publish_state == "published" and stored.published_channel_id == 77
    winner = stored.published_message_id
    loser = 5002 if winner == 5001 else 5001
    # The message of the losing call is a duplicate in the channel: listed for deletion.
    stale = await posts.messages_to_remove(db)
    assert [(m.channel_id, m.message_id, m.kind) for m in stale] == [(77, loser, "published")]
    # Recording the winner again changes nothing and lists nothing.
    assert await posts.mark_published(db, post.id, winner, channel_id=77) is None
    assert len(await posts.messages_to_remove(db)) == 1
    assert await posts.posts_to_publish(db, T0 + timedelta(days=1)) == []
    assert [e.event for e in await posts.post_history(db, post.id)].count("published") == 1


async def test_failed_publishing_is_retried_with_growing_pauses(db, settings):
    post = await approved_post(db, settings)
    assert await posts.posts_to_publish(db, T0)
    failed = await posts.mark_publish_failed(db, post.id, "403 Missing Permissions", now=T0)
    assert failed.state == "approved" and failed.publish_state == "failed"
    assert failed.publish_attempts == 1 and failed.publish_error == "403 Missing Permissions"
    assert failed.publish_next_at == (T0 + timedelta(seconds=30)).isoformat()
    assert await posts.posts_to_publish(db, T0 + timedelta(seconds=29)) == []
    assert [p.id for p in await posts.posts_to_publish(db, T0 + timedelta(seconds=30))] == [post.id]

    again = await posts.mark_publish_failed(db, post.id, "500 Internal Server Error", now=T0 + timedelta(seconds=30))
    assert again.publish_attempts == 2
    assert again.publish_next_at == (T0 + timedelta(seconds=90)).isoformat()
    # Discord's retry_after on a 429 wins over the growing pause.
    limited = await posts.mark_publish_failed(db, post.id, "429 Too Many Requests", 2.5, now=T0 + timedelta(seconds=90))
    assert limited.publish_next_at == (T0 + timedelta(seconds=93)).isoformat()
    # The pause never grows past an hour, and the post is never given up.
    for attempt in range(20):
        latest = await posts.mark_publish_failed(db, post.id, "500", now=T0)
    assert latest.publish_next_at == (T0 + timedelta(hours=1)).isoformat()
    assert [p.id for p in await posts.posts_to_publish(db, T0 + timedelta(hours=1))] == [post.id]
    assert (await posts.mark_published(db, post.id, 6000, channel_id=77)).publish_state == "published"
    assert (await posts.get_post(db, post.id)).publish_error is None
    history = [e for e in await posts.post_history(db, post.id) if e.event == "publish_failed"]
    assert len(history) == 23 and history[0].detail["error"] == "403 Missing Permissions"


async def test_a_publisher_that_stopped_midway_loses_nothing(db, settings):
    post = await approved_post(db, settings)
    assert await posts.posts_to_publish(db, T0)  # handed out, then the bot stopped
    later = T0 + timedelta(seconds=posts.PUBLISH_LEASE_SECONDS)
    assert [p.id for p in await posts.posts_to_publish(db, later)] == [post.id]


async def test_withdrawn_while_publishing_removes_the_new_message(db, settings):
    post = await approved_post(db, settings)
    assert await posts.posts_to_publish(db, T0)
    await posts.withdraw(db, post.id, author_id=1)
    assert await posts.mark_published(db, post.id, 7000, channel_id=77) is None
    assert [(m.message_id, m.kind) for m in await posts.messages_to_remove(db)] == [(7000, posts.StaleKind.PUBLISHED)]
    assert all(type(m.kind) is posts.StaleKind for m in await posts.messages_to_remove(db))
    assert await posts.mark_publish_failed(db, post.id, "500") is None


async def test_author_notification_bookkeeping(db, settings):
    a = await approved_post(db, settings, author=1)
    b = (await share(db, settings, author=2)).post
    await posts.decide(db, post_id=b.id, guild_id=GUILD, moderator_id=MOD, approve=False, reason="Duplicate")
    pending_post = (await share(db, settings, author=3)).post
    todo = await posts.decisions_to_notify(db)
    assert [p.id for p in todo] == [a.id, b.id]
    assert pending_post.id not in [p.id for p in todo]
    assert await posts.mark_author_notified(db, a.id, True)
    assert await posts.mark_author_notified(db, b.id, False)
    assert await posts.decisions_to_notify(db) == []
    assert (await posts.get_post(db, a.id)).author_notified == "dm_sent"
    assert (await posts.get_post(db, b.id)).author_notified == "dm_failed"
    assert await posts.mark_author_notified(db, 999_999, True) is False


# -- the queue channel: embeds that never got there ---------------------------------------------

QUEUE_CHANNEL = 555
LEASE_OVER = T0 + timedelta(seconds=posts.QUEUE_LEASE_SECONDS)


async def test_posts_without_a_queue_embed_are_listed_once_the_members_own_try_had_its_time(db, settings):
    first = (await share(db, settings, author=1, text=PACING_TEXT)).post
    urgent = (await share(db, settings, author=2, text="I keep thinking about ending my life, the pain never stops.")).post
    elsewhere = (await share(db, settings, author=3, guild=OTHER_GUILD)).post
    assert urgent.urgent and first.queue_next_at == LEASE_OVER.isoformat()
    # No queue channel in any server yet: the posts wait in /mod queue only.
    assert await posts.posts_to_queue(db, T0 + timedelta(days=1)) == []

    await settings.set(GUILD, "queue_channel", QUEUE_CHANNEL, actor_id=MOD)
    # The member's own /share is posting the embed: nobody else does for QUEUE_LEASE_SECONDS.
    assert await posts.posts_to_queue(db, LEASE_OVER - timedelta(seconds=1)) == []
    due = await posts.posts_to_queue(db, LEASE_OVER)
    assert [p.id for p in due] == [urgent.id, first.id], "urgent first, then the oldest; the other server has no channel"
    assert elsewhere.id not in [p.id for p in due]
    # Handed out: not handed out again while the worker posts them, but again once that lease is over.
    assert await posts.posts_to_queue(db, LEASE_OVER + timedelta(seconds=10)) == []
    later = LEASE_OVER + timedelta(seconds=posts.QUEUE_LEASE_SECONDS)
    assert [p.id for p in await posts.posts_to_queue(db, later)] == [urgent.id, first.id]

    # Recorded, decided or withdrawn: no longer listed. Bounded by `limit`.
    assert await posts.set_queue_message(db, urgent.id, QUEUE_CHANNEL, 8100)
    await posts.decide(db, post_id=first.id, guild_id=GUILD, moderator_id=MOD, approve=True)
    third = (await share(db, settings, author=4)).post
    fourth = (await share(db, settings, author=5)).post
    fifth = (await share(db, settings, author=6)).post
    await posts.withdraw(db, fifth.id, author_id=6)
    much_later = T0 + timedelta(hours=1)
    assert [p.id for p in await posts.posts_to_queue(db, much_later, limit=1)] == [third.id]
    assert [p.id for p in await posts.posts_to_queue(db, much_later)] == [fourth.id]

    # The queue channel unset again: nothing more to post there.
    await settings.reset(GUILD, "queue_channel", actor_id=MOD)
    assert await posts.posts_to_queue(db, T0 + timedelta(days=2)) == []


async def test_a_post_stored_without_a_retry_time_is_due_at_once(db, settings):
    await settings.set(GUILD, "queue_channel", QUEUE_CHANNEL, actor_id=MOD)
    post = (await share(db, settings)).post
    await db.conn.execute("UPDATE posts SET queue_next_at = NULL WHERE id = ?", (post.id,))
    assert [p.id for p in await posts.posts_to_queue(db, T0)] == [post.id]


async def test_failing_to_post_to_the_queue_channel_is_retried_with_growing_pauses(db, settings):
    await settings.set(GUILD, "queue_channel", QUEUE_CHANNEL, actor_id=MOD)
    post = (await share(db, settings)).post
    failed = await posts.mark_queue_failed(db, post.id, "Discord had a server error (503)", now=T0)
    assert failed.state == "pending" and failed.queue_attempts == 1
    assert failed.queue_error == "Discord had a server error (503)"
    assert failed.queue_next_at == (T0 + timedelta(seconds=30)).isoformat(), "the failure replaces the lease"
    assert await posts.posts_to_queue(db, T0 + timedelta(seconds=29)) == []
    assert [p.id for p in await posts.posts_to_queue(db, T0 + timedelta(seconds=30))] == [post.id]
    again = await posts.mark_queue_failed(db, post.id, "503", now=T0 + timedelta(seconds=30))
    assert again.queue_next_at == (T0 + timedelta(seconds=90)).isoformat()
    limited = await posts.mark_queue_failed(db, post.id, "429", 2.5, now=T0 + timedelta(seconds=90))
    assert limited.queue_next_at == (T0 + timedelta(seconds=93)).isoformat(), "Discord's retry_after wins"
    for attempt in range(20):
        latest = await posts.mark_queue_failed(db, post.id, "500", now=T0)
    assert latest.queue_next_at == (T0 + timedelta(hours=1)).isoformat() and latest.queue_attempts == 23
    history = [e for e in await posts.post_history(db, post.id) if e.event == "queue_failed"]
    assert len(history) == 23 and history[0].detail["error"] == "Discord had a server error (503)"
    assert SLEEP_TEXT not in json.dumps([e.detail for e in history])

    assert await posts.set_queue_message(db, post.id, QUEUE_CHANNEL, 8200)
    stored = await posts.get_post(db, post.id)
    assert stored.queue_error is None and stored.queue_next_at is None
    assert await posts.mark_queue_failed(db, post.id, "late failure") is None, "it has its embed now"
    assert (await posts.get_post(db, post.id)).queue_attempts == 23


async def test_a_queue_embed_is_recorded_exactly_once(db, settings):
    post = (await share(db, settings)).post
    results = await asyncio.gather(posts.set_queue_message(db, post.id, QUEUE_CHANNEL, 8301),
                                   posts.set_queue_message(db, post.id, QUEUE_CHANNEL, 8302))
    assert sorted(results) == [False, True]
    winner = (await posts.get_post(db, post.id)).queue_message_id
    loser = 8302 if winner == 8301 else 8301
    # The second embed would be a second set of buttons: listed for deletion, the first one kept.
    assert [(m.message_id, m.kind) for m in await posts.messages_to_remove(db)] == [(loser, "queue")]
    assert await posts.set_queue_message(db, post.id, QUEUE_CHANNEL, winner) is False
    assert len(await posts.messages_to_remove(db)) == 1, "the same message again lists nothing"
    assert (await posts.get_post(db, post.id)).queue_message_id == winner


async def test_stale_message_removal_retries(db, settings):
    post = (await share(db, settings)).post
    assert await posts.set_queue_message(db, post.id, 55, 8000)
    await posts.withdraw(db, post.id, author_id=1)
    [stale] = await posts.messages_to_remove(db)
    assert (stale.channel_id, stale.message_id, stale.kind) == (55, 8000, "queue")
    await posts.mark_message_removal_failed(db, stale.id, "503", now=T0)
    assert await posts.messages_to_remove(db, T0) == []
    assert len(await posts.messages_to_remove(db, T0 + timedelta(seconds=30))) == 1
    await posts.mark_message_removed(db, stale.id)
    assert await posts.messages_to_remove(db, T0 + timedelta(days=1)) == []
    # A queue embed posted for a post that is already gone goes straight to the list.
    assert await posts.set_queue_message(db, post.id, 55, 8001) is False
    assert [m.message_id for m in await posts.messages_to_remove(db)] == [8001]


# -- withdrawal and members' data --------------------------------------------------------------

async def test_withdraw_deletes_the_text(db, settings):
    post = (await share(db, settings, anonymous=False, name="Robin", hint="sleep at night")).post
    await posts.set_queue_message(db, post.id, 55, 8000)
    await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=True)
    await posts.posts_to_publish(db, T0 + timedelta(days=1))
    await posts.mark_published(db, post.id, 9000, channel_id=66)

    with pytest.raises(PostError) as caught:
        await posts.withdraw(db, post.id, author_id=2)  # not theirs
    assert caught.value.kind == "not_found"

    gone = await posts.withdraw(db, post.id, author_id=1)
    assert gone.state == "withdrawn" and gone.text == "" and gone.author_name is None and gone.topic_hint is None
    assert gone.topics == ()
    assert await db.fetchval("SELECT COUNT(*) FROM topic_tags WHERE source = 'post' AND item_id = ?", (post.id,)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM posts WHERE text LIKE '%sleep%'") == 0
    assert sorted((m.channel_id, m.message_id) for m in await posts.messages_to_remove(db)) == [(55, 8000), (66, 9000)]
    events = await posts.post_history(db, post.id)
    assert events[-1].event == "withdrawn" and "sleep" not in json.dumps(events[-1].detail)
    with pytest.raises(PostError) as caught:
        await posts.withdraw(db, post.id, author_id=1)
    assert caught.value.kind == "already_withdrawn"


async def test_withdraw_a_pending_post(db, settings):
    post = (await share(db, settings)).post
    gone = await posts.withdraw(db, post.id, author_id=1, guild_id=GUILD)
    assert gone.state == "withdrawn"
    assert await posts.pending(db, GUILD) == []
    with pytest.raises(PostError) as caught:
        await posts.decide(db, post_id=post.id, guild_id=GUILD, moderator_id=MOD, approve=True)
    assert str(caught.value) == "Post #1 was withdrawn by its author."


MARKER = "zebraquokka"  # a word nothing else in the database contains


async def text_holding(db, needle: str) -> list[str]:
    """Every (table.column) of any table whose text contains `needle`."""
    found = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in (t["name"] for t in tables):
        columns = await db.fetchall(f"PRAGMA table_info('{table}')")
        for column in (c["name"] for c in columns):
            hits = await db.fetchval(
                f"SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE ?", (f"%{needle}%",)
            )
            if hits:
                found.append(f"{table}.{column}")
    return found


async def test_export_then_forget_leaves_no_text_of_the_member(db, settings):
    me, other = 31, 32
    text = f"My {MARKER} routine helps my sleep a little, and pacing helps my fatigue."
    mine = (await share(db, settings, author=me, text=text, anonymous=False, name=f"{MARKER}name",
                        hint=f"{MARKER} hint")).post
    (await share(db, settings, author=me, guild=OTHER_GUILD, text=text))
    second = (await share(db, settings, author=me, text=text, now=T0 + timedelta(hours=1))).post
    theirs = (await share(db, settings, author=other, text=PACING_TEXT)).post
    await posts.set_queue_message(db, mine.id, 55, 8100)
    await posts.decide(db, post_id=mine.id, guild_id=GUILD, moderator_id=MOD, approve=True)
    await posts.decide(db, post_id=second.id, guild_id=GUILD, moderator_id=MOD, approve=False, reason="duplicate")
    await posts.posts_to_publish(db, T0 + timedelta(days=1))
    await posts.mark_published(db, mine.id, 8200, channel_id=66)
    await posts.block(db, GUILD, me, MOD)
    # The member also moderates the other server: their decision there and a setting they changed.
    await posts.decide(db, post_id=theirs.id, guild_id=GUILD, moderator_id=me, approve=True)
    await settings.set(OTHER_GUILD, "cooldown_seconds", 60, actor_id=me)
    await posts.record_refusal(db, guild_id=GUILD, actor_id=me, attempted="approve")
    # What /quote remembers of their searches (the words they typed).
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO quote_seen(guild_id, user_id, query_key, source, item_id, shown_at)"
                         " VALUES (?, ?, ?, 'post', ?, ?)", (GUILD, me, f"{MARKER} sleep", theirs.id, T0.isoformat()))
        await tx.execute("INSERT INTO quote_history(guild_id, channel_id, user_id, source, item_id, shown_at)"
                         " VALUES (?, 5, ?, 'post', ?, ?)", (GUILD, me, theirs.id, T0.isoformat()))

    data = await privacy.export_member_data(db, me)
    json.dumps(data)  # JSON-ready
    assert data["user_id"] == str(me)
    assert len(data["posts"]) == 3 and all(MARKER in p["text"] for p in data["posts"])
    assert {p["state"] for p in data["posts"]} == {"approved", "rejected", "pending"}
    assert [b["server_id"] for b in data["blocked_in_servers"]] == [str(GUILD)]
    assert data["server_settings_you_changed"][0]["setting"] == "cooldown_seconds"
    assert {a["action"] for a in data["your_actions_in_the_audit_log"]} >= {
        "post.submitted", "post.approved", "moderation.refused", "setting.changed"}
    assert data["quote_searches_remembered"] == [{"server_id": str(GUILD), "search": f"{MARKER} sleep"}]
    assert len(data["quotes_shown_to_you"]) == 1
    holding = await text_holding(db, MARKER)  # the scan does find the text while it is there
    assert {"posts.text", "posts.author_name", "posts.topic_hint", "quote_seen.query_key"} <= set(holding)

    report = await privacy.forget_member(db, me)
    assert report.posts_deleted == 3
    assert report.guild_ids == (GUILD, OTHER_GUILD)
    assert report.messages_to_remove == 2
    assert report.still_blocked_in == (GUILD,)

    assert await text_holding(db, MARKER) == []
    assert await db.fetchval("SELECT COUNT(*) FROM posts WHERE author_id = ?", (me,)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE actor_id = ? AND action != 'member.forgotten'",
                             (me,)) == 0
    forgotten = await db.fetchone("SELECT * FROM audit_log WHERE action = 'member.forgotten'")
    assert forgotten["detail"] == "{}" and forgotten["guild_id"] is None
    # Someone else's post stays, no longer naming the forgotten moderator.
    kept = await posts.get_post(db, theirs.id)
    assert kept.text == PACING_TEXT and kept.state == "approved" and kept.decided_by is None
    assert await db.fetchval("SELECT updated_by FROM guild_settings WHERE guild_id = ?", (OTHER_GUILD,)) is None
    # The export after forgetting holds nothing but the block.
    after = await privacy.export_member_data(db, me)
    assert after["posts"] == [] and after["server_settings_you_changed"] == []
    assert after["quote_searches_remembered"] == [] and after["quotes_shown_to_you"] == []
    # Post numbers are not handed out again.
    assert (await share(db, settings, author=other + 1)).post.number == 4


# -- load ---------------------------------------------------------------------------------------


async def test_withdrawn_and_forgotten_text_is_gone_from_the_database_files_too(db, settings):
    withdrawn = "quokka-withdrawn-7731: my flare diary, which I took back"
    forgotten = "quokka-forgotten-7732: my sleep diary, from a member who left"
    kept = "quokka-kept-7733: my pacing diary, which stays"
    first = (await share(db, settings, author=1, text=withdrawn, anonymous=False, name="Quokka Withdrawer")).post
    await posts.decide(db, post_id=first.id, guild_id=GUILD, moderator_id=MOD, approve=True)
    await share(db, settings, author=2, text=forgotten, hint="quokka-hint-7734")
    await share(db, settings, author=3, text=kept)
    for needle in (withdrawn, forgotten, kept, "quokka-hint-7734", "Quokka Withdrawer"):
        assert files_holding(db, needle), f"{needle!r} should be on disk before it is deleted"

    await posts.withdraw(db, first.id, author_id=1)
    assert files_holding(db, withdrawn) == [] and files_holding(db, "Quokka Withdrawer") == []
    await privacy.forget_member(db, 2)
    assert files_holding(db, forgotten) == [] and files_holding(db, "quokka-hint-7734") == []
    assert files_holding(db, kept), "other members' posts are untouched"
    assert (await posts.get_post(db, first.id)).state == "withdrawn"
    assert await db.integrity_check() == "ok"


async def test_forgotten_text_is_readable_through_no_read_connection(db, settings, monkeypatch):
    """A read under way on a reader when a member is forgotten keeps the snapshot it started with
    until it ends; the emptying of the log waits for it, and afterwards no reader, nor the files,
    holds the text."""
    from bot.storage import Database

    forgotten = "quokka-forgotten-7741: my pain diary, from a member who left"
    await share(db, settings, author=2, text=forgotten)
    assert len(db.readers) == 2
    for reader in db.readers:  # every reader has read the text, and may keep its pages cached
        assert await reader.execute_fetchall("SELECT id FROM posts WHERE text = ?", (forgotten,))

    entered, release, emptying = threading.Event(), threading.Event(), threading.Event()

    def hold() -> int:
        entered.set()
        release.wait(30)
        return 1

    for reader in db.readers:
        await reader.create_function("hold", 0, hold)
    original = Database._checkpoint_apart

    def checkpoint_apart(self):
        emptying.set()
        return original(self)

    monkeypatch.setattr(Database, "_checkpoint_apart", checkpoint_apart)
    reading = asyncio.create_task(db.fetchall("SELECT text FROM posts WHERE hold() AND text = ?", (forgotten,)))
    assert await asyncio.to_thread(entered.wait, 30)
    forgetting = asyncio.create_task(privacy.forget_member(db, 2))
    assert await asyncio.to_thread(emptying.wait, 30), "the deletion is committed and the log is being emptied"
    assert not reading.done()
    release.set()
    assert [row["text"] for row in await reading] == [forgotten], "the read sees what it started with"
    await forgetting

    assert files_holding(db, forgotten) == []
    for reader in db.readers:
        assert await reader.execute_fetchall("SELECT id FROM posts WHERE text = ?", (forgotten,)) == []
    assert await db.fetchall("SELECT id FROM posts WHERE text = ?", (forgotten,)) == []
    assert await db.checkpoint() is True, "no reader holds a snapshot once its read has ended"


async def test_deleted_text_is_zeroed_and_the_log_emptied_only_outside_a_transaction(db, settings):
    assert await db.fetchval("PRAGMA secure_delete") == 1
    await share(db, settings)
    assert Path(f"{db.path}-wal").stat().st_size > 0
    with pytest.raises(RuntimeError, match="inside a transaction"):
        async with db.transaction():
            await db.checkpoint()
    assert await db.checkpoint() is True
    assert Path(f"{db.path}-wal").stat().st_size == 0
    assert await db.fetchval("SELECT COUNT(*) FROM posts") == 1, "the rolled-back block changed nothing"


async def test_a_thousand_members_submit_at_once(db, settings):
    started = time.perf_counter()
    results = await asyncio.gather(*(
        share(db, settings, author=100_000 + n, interaction=500_000 + n,
              text=f"Day {n}: my sleep was broken again and the fatigue is heavy this morning.")
        for n in range(1000)
    ))
    elapsed = time.perf_counter() - started
    print(f"\n1,000 concurrent submissions: {elapsed:.2f} s")
    assert all(r.created for r in results)
    assert await db.fetchval("SELECT COUNT(*) FROM posts WHERE state = 'pending'") == 1000
    assert sorted(r.post.number for r in results) == list(range(1, 1001))
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'post.submitted'") == 1000
    assert await db.integrity_check() == "ok"

    # Every interaction delivered once more, all at once: nothing new.
    again = await asyncio.gather(*(
        share(db, settings, author=100_000 + n, interaction=500_000 + n,
              text=f"Day {n}: my sleep was broken again and the fatigue is heavy this morning.")
        for n in range(1000)
    ))
    assert not any(r.created for r in again)
    assert await db.fetchval("SELECT COUNT(*) FROM posts") == 1000


# -- small helpers ------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [
    (0.2, "1 second"), (45, "45 seconds"), (60, "1 minute"), (61, "2 minutes"), (240, "4 minutes"),
    (3600, "1 hour"), (3660, "1 hour 1 minute"), (12_000, "3 hours 20 minutes"),
])
def test_format_wait(seconds, text):
    assert posts.format_wait(seconds) == text
