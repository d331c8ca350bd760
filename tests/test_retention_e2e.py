"""How long the bot keeps a server's data and its audit log, through the real bot and the emulator:
a server that removes the bot is forgotten 30 days later unless the bot is added back, and audit
rows older than a year go. The worker's clock is moved forward; nothing waits."""

from datetime import timedelta
from pathlib import Path

from bot import privacy
from bot.ingest import load_article
from support import OTHER_GUILD, newest_post, ready_server, share, step, wait_for

ARTICLE = Path(__file__).parent / "fixtures" / "articles" / "walking_app.txt"


async def rows_of(db, guild_id: int) -> dict[str, int]:
    """How many rows name the server, in every table that has a guild_id column."""
    tables = [r["name"] for r in await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%'")]
    found = {}
    for table in tables:
        columns = {c["name"] for c in await db.fetchall(f"PRAGMA table_info({table})")}
        if "guild_id" in columns:
            count = await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE guild_id = ?", (guild_id,))
            if count:
                found[table] = count
    return found


async def fill(session, guild_id: int) -> None:
    """Settings, an approved post and a pending one, a /quote, a block and the server's own article."""
    await ready_server(session, guild_id)
    await share(session, "Cold mornings are the worst for my legs and my sleep.", guild_id=guild_id)
    await step(session, "@moderator click Approve", guild_id=guild_id)
    await share(session, "Warm baths help my back a little before bed.", guild_id=guild_id)
    await step(session, "@member /quote topic:cold mornings", guild_id=guild_id)
    await step(session, f"@moderator /mod post id:{(await newest_post(session, guild_id)).number}", guild_id=guild_id)
    await load_article(session.bot.db, ARTICLE.read_text(), ARTICLE.name, guild_id=guild_id)


async def test_a_server_that_removed_the_bot_is_forgotten_after_30_days_and_one_that_rejoined_is_kept(
        two_guilds, quick_worker):
    session = two_guilds
    db = session.bot.db
    await fill(session, OTHER_GUILD)
    await fill(session, session.guild_id)
    before_other, before_here = await rows_of(db, OTHER_GUILD), await rows_of(db, session.guild_id)
    for table in ("posts", "post_events", "guild_settings", "audit_log", "quote_history", "articles", "topic_tags"):
        assert before_other.get(table), f"the test made no {table} rows: {before_other}"

    worker = session.bot.get_cog("Moderation").worker
    start = worker.clock()
    worker.clock = lambda: start  # from here the worker's time moves only when the test says

    # The bot is removed from one server, and removed from and added back to the other.
    await session.emulator.leave_guild(OTHER_GUILD)
    await session.emulator.leave_guild(session.guild_id)
    await wait_for(async_len(privacy.departed_guilds, db, 2))
    await session.emulator.join_guild(session.guild_id)
    await wait_for(async_len(privacy.departed_guilds, db, 1))
    assert set(await privacy.departed_guilds(db)) == {OTHER_GUILD}

    # 29 days on: nothing is deleted yet.
    worker.clock = lambda: start + timedelta(days=29)
    await worker.run_once()
    assert await rows_of(db, OTHER_GUILD) == before_other | {"departed_guilds": 1}
    # 30 days and a minute on: everything of that server goes, in every table; the other keeps all.
    worker.clock = lambda: start + privacy.GUILD_GRACE + timedelta(minutes=1)
    await worker.run_once()
    assert await rows_of(db, OTHER_GUILD) == {}
    assert await privacy.departed_guilds(db) == {}
    assert await rows_of(db, session.guild_id) == before_here
    assert (await session.bot.guild_settings.get(OTHER_GUILD)).posts_channel is None  # no stale cache either
    # What is left of it is only that a deletion happened, with no server named.
    forgotten = await db.fetchall("SELECT guild_id, actor_id, detail FROM audit_log WHERE action = 'guild.forgotten'")
    assert [tuple(r) for r in forgotten] == [(None, None, "{}")]
    # A second run (another process, say) deletes nothing more and records nothing more.
    await worker.run_once()
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'guild.forgotten'") == 1

    # The server that kept the bot still works as before.
    await step(session, "@member /quote topic:cold mornings")


async def test_audit_rows_older_than_a_year_are_pruned(session, quick_worker):
    db = session.bot.db
    await ready_server(session)
    await share(session, "Cold mornings are the worst for my legs and my sleep.")
    await step(session, "@moderator click Approve")

    async def done() -> bool:  # publishing and the author's DM happen in the background
        post = await newest_post(session)
        return post.publish_state == "published" and post.author_notified is not None
    await wait_for(done)
    rows = await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE guild_id = ?", (session.guild_id,))
    assert rows >= 5
    worker = session.bot.get_cog("Moderation").worker
    start = worker.clock()
    worker.clock = lambda: start + timedelta(days=364)
    await worker.run_once()
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE guild_id = ?", (session.guild_id,)) == rows
    worker.clock = lambda: start + privacy.AUDIT_RETENTION + timedelta(minutes=1)
    await worker.run_once()
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log") == 0
    # The post itself and the server's settings are not the audit log's: they stay.
    assert (await newest_post(session)).state == "approved"
    assert (await session.bot.guild_settings.get(session.guild_id)).posts_channel is not None


async def test_a_server_that_removed_the_bot_while_it_was_stopped_counts_as_left(session, quick_worker):
    await ready_server(session)
    await session.stop_bot()
    session.emulator.guilds[session.guild_id]["left"] = True  # removed while the bot was not running
    await session.start_bot()
    await wait_for(async_len(privacy.departed_guilds, session.bot.db, 1))
    assert set(await privacy.departed_guilds(session.bot.db)) == {session.guild_id}
    # Added back: kept.
    await session.stop_bot()
    session.emulator.guilds[session.guild_id]["left"] = False
    await session.start_bot()
    await wait_for(async_len(privacy.departed_guilds, session.bot.db, 0))


def async_len(function, db, wanted: int):
    async def check() -> bool:
        return len(await function(db)) == wanted
    return check


async def test_privacy_and_the_readme_state_the_same_periods_as_the_code(session):
    shown = (await step(session, "@member /privacy")).text()
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Safety and privacy", 1)[1].split("\n## ", 1)[0]
    for text in (shown, " ".join(section.split())):
        assert f"deleted {privacy.GUILD_GRACE.days} days later, unless the bot is added back" in text
        assert f"{privacy.AUDIT_RETENTION.days} days" in text
        assert "posted there stay" in text
