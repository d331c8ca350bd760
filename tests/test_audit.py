import asyncio

import pytest

from bot import audit
from bot.audit import AuditEntry, format_entry

GUILD, OTHER = 1111, 2222


async def count_rows(db) -> int:
    return await db.fetchval("SELECT COUNT(*) FROM audit_log")


async def test_record_writes_inside_the_callers_transaction(db):
    async with db.transaction() as tx:
        entry = await audit.record(tx, guild_id=GUILD, actor_id=42, action="post.approved",
                                   target="post:7", detail={"reason": None})
    assert entry.id > 0 and entry.action == "post.approved" and entry.target == "post:7"
    row = await db.fetchone("SELECT * FROM audit_log WHERE id = ?", (entry.id,))
    assert row["guild_id"] == GUILD and row["actor_id"] == 42 and row["detail"] == '{"reason": null}'


async def test_record_is_rolled_back_with_the_change_it_describes(db):
    with pytest.raises(ZeroDivisionError):
        async with db.transaction() as tx:
            await audit.record(tx, guild_id=GUILD, actor_id=42, action="post.approved", target="post:7")
            1 / 0
    assert await count_rows(db) == 0


async def test_record_outside_a_transaction_fails_loudly(db):
    with pytest.raises(RuntimeError, match="inside db.transaction"):
        await audit.record(db.conn, guild_id=GUILD, actor_id=42, action="post.approved")
    assert await count_rows(db) == 0


async def test_record_now_inside_a_transaction_refuses_instead_of_waiting_forever(db):
    async with db.transaction():
        with pytest.raises(RuntimeError, match="inside a transaction of the same task"):
            # Awaited directly: wait_for would run it in another task, which rightly waits its turn.
            await audit.record_now(db, guild_id=GUILD, actor_id=1, action="x.y")


async def test_record_now_waits_for_another_tasks_transaction(db):
    """Another coroutine's open transaction is not a reason to fail: the write waits its turn."""
    release = asyncio.Event()

    async def long_writer():
        async with db.transaction():
            await release.wait()

    writer = asyncio.create_task(long_writer())
    await asyncio.sleep(0.01)
    pending = asyncio.create_task(audit.record_now(db, guild_id=GUILD, actor_id=1, action="x.y"))
    await asyncio.sleep(0.05)
    assert not pending.done()
    release.set()
    await asyncio.wait_for(asyncio.gather(writer, pending), 2)
    assert await count_rows(db) == 1


@pytest.mark.parametrize("detail", [
    {"text": "I have been in so much pain"},
    {"post": {"Content": "nested text of a post"}},
    {"items": [{"body": "in a list"}]},
    {"reason": "x" * (audit.MAX_DETAIL_TEXT + 1)},
])
async def test_post_text_never_reaches_the_log(db, detail):
    with pytest.raises(ValueError):
        await audit.record_now(db, guild_id=GUILD, actor_id=1, action="post.submitted", detail=detail)
    assert await count_rows(db) == 0


@pytest.mark.parametrize("action", ["", "Post.Approved", "post approved", "post..approved", "a" * 65])
async def test_malformed_actions_are_refused(db, action):
    with pytest.raises(ValueError):
        await audit.record_now(db, guild_id=GUILD, actor_id=1, action=action)


async def test_detail_must_be_plain_json(db):
    with pytest.raises(TypeError):
        await audit.record_now(db, guild_id=GUILD, actor_id=1, action="x.y", detail={"when": object()})


async def test_recent_is_per_guild_newest_first_and_filters_by_action(db):
    for i in range(5):
        await audit.record_now(db, guild_id=GUILD, actor_id=i, action="post.approved", target=f"post:{i}")
    await audit.record_now(db, guild_id=GUILD, actor_id=9, action="button.refused", target="post:1")
    await audit.record_now(db, guild_id=OTHER, actor_id=8, action="post.approved", target="post:99")

    mine = await audit.recent(db, GUILD)
    assert [e.actor_id for e in mine] == [9, 4, 3, 2, 1, 0]
    assert all(e.guild_id == GUILD for e in mine)
    assert [e.target for e in await audit.recent(db, GUILD, limit=2)] == ["post:1", "post:4"]
    approved = await audit.recent(db, GUILD, action="post.approved")
    assert len(approved) == 5 and {e.action for e in approved} == {"post.approved"}
    assert [e.target for e in await audit.recent(db, OTHER)] == ["post:99"]


def entry(action=audit.SETTING_CHANGED, actor_id=42, target=None, **detail):
    return AuditEntry(id=1, guild_id=GUILD, actor_id=actor_id, action=action, target=target,
                      detail=detail, created_at="2026-05-01T12:34:56+00:00")


def test_format_setting_changes():
    import bot.guild_settings  # noqa: F401  (it names the settings for the log channel)
    line = format_entry(entry(setting="cooldown_seconds", kind="int", old=300, new=60, how="set"))
    assert line == "Cooldown changed from 5 minutes to 1 minute by <@42> · 2026-05-01 12:34 UTC"
    line = format_entry(entry(setting="posts_channel", kind="channel", old=None, new="123456789012345678", how="set"))
    assert line.startswith("Posts channel changed from not set to <#123456789012345678> by <@42>")
    line = format_entry(entry(setting="moderator_role", kind="role", old="55", new=None, how="reset"))
    assert line.startswith("Moderator role reset to its default, not set (was <@&55>) by <@42>")
    line = format_entry(entry(actor_id=None, setting="log_channel", kind="channel", old="77", new=None,
                              how="channel deleted"))
    assert line == "Log channel cleared because its channel <#77> was deleted · 2026-05-01 12:34 UTC"
    line = format_entry(entry(setting="posting_enabled", kind="bool", old=True, new=False, how="import"))
    assert line.startswith("Posting imported from a settings file: on → off by <@42>")


def test_format_post_and_member_entries_as_sentences():
    assert format_entry(entry(action="post.approved", target="post:12", number=1)).startswith("Post #1 approved by <@42> · ")
    line = format_entry(entry(action="post.rejected", target="post:12", number=3, reason="Off topic"))
    assert line.startswith('Post #3 rejected by <@42> (reason: "Off topic")')
    assert format_entry(entry(action="member.blocked", target="user:9")).startswith("A member was blocked from sharing by <@42>")
    assert "<@9>" not in format_entry(entry(action="member.blocked", target="user:9"))   # never names the author
    line = format_entry(entry(action="post.submitted", actor_id=9, target="post:12", number=4, urgent=True))
    assert line.startswith("Post #4 shared for review and marked urgent") and "<@9>" not in line


def test_format_generic_entries_and_long_values_fit_one_message():
    line = format_entry(entry(action="article.hidden", target="article:3", why="Off topic"))
    assert line.startswith('Article hidden article:3 by <@42> (why: "Off topic")')
    long = "word " * 400
    line = format_entry(entry(setting="crisis_resources", kind="text", old=long, new=long, how="set"))
    assert len(line) < 2000 and line.count("…") == 2
    line = format_entry(entry(action="x.y", **{f"k{i}": "v" * 200 for i in range(30)}))
    assert len(line) <= audit.MAX_LINE
