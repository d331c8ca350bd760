"""The article library through the real bot and the emulator: /config articles, and an admin's
upload with its preview and confirmation."""

from __future__ import annotations

from pathlib import Path

from bot import audit, library
from support import OTHER_GUILD, channel_id, is_ephemeral, set_up_everything, step

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
WALKING = ARTICLES / "walking_app.txt"
BROKEN = ARTICLES / "broken_no_body.txt"


async def article_rows(session) -> int:
    return await session.bot.db.fetchval("SELECT COUNT(*) FROM articles")


async def test_an_admin_uploads_sees_the_preview_confirms_and_features_it(two_guilds):
    session = two_guilds
    await set_up_everything(session)
    log = channel_id(session, "mod-log")
    before = await article_rows(session)

    shown = await step(session, "@admin /config articles")
    assert is_ephemeral(shown)
    assert "✅ **#1** Brain Signals Disrupted in Fibromyalgia Patients · ⭐ featured" in shown.text()

    preview = await step(session, f"@admin /config article add file:{WALKING}")
    text = preview.text()
    assert "Preview: Phone App Nudges People With Chronic Pain to Walk More" in text
    assert "Priya Natarajan, Science Correspondent" in text
    assert "5 paragraphs, 3 reader comments (1 reply)" in text
    assert "A phone app that sends a gentle reminder" in text
    assert "“Jamie Lowe”: a name with no comment after it" in text
    assert await article_rows(session) == before  # a preview adds nothing

    added = await step(session, "@admin click Add this article")
    assert "Added **#2 Phone App Nudges People With Chronic Pain to Walk More**" in added.text()
    assert await article_rows(session) == before + 1
    mirrored = [r.body.get("content") for r in added.requests if r.path == f"/channels/{log}/messages"]
    assert mirrored and "article.added" in mirrored[0]

    featured = await step(session, "@admin /config articles feature:#2")
    assert "is now featured" in featured.text()
    config = await session.bot.guild_settings.get(session.guild_id)
    assert config.featured_article == 2
    entries = await audit.recent(session.bot.db, session.guild_id, action=audit.SETTING_CHANGED)
    assert any(e.detail.get("setting") == "featured_article" and e.detail.get("new") == 2 for e in entries)

    # The upload belongs to this server: the other one neither lists it nor can feature it.
    other = await step(session, "@admin /config articles", guild_id=OTHER_GUILD)
    assert "Phone App" not in other.text()
    refused = await session.run("@admin /config articles feature:#2", guild_id=OTHER_GUILD)
    assert "has no article called" in refused.text()
    assert (await session.bot.guild_settings.get(OTHER_GUILD)).featured_article is None


async def test_a_broken_or_foreign_file_is_refused_with_its_reason_and_nothing_changes(session):
    before = await article_rows(session)
    broken = await step(session, f"@admin /config article add file:{BROKEN}")
    assert "could not read that file as an article: no body paragraphs after the title" in broken.text()
    assert "Nothing was changed" in broken.text()
    seed = await step(session, "@admin /config article add file:data/article.txt")
    assert "already in this server's library as **#1" in seed.text()
    assert await article_rows(session) == before
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM article_uploads") == 0


async def test_cancelling_an_upload_keeps_nothing(session):
    await step(session, f"@admin /config article add file:{WALKING}")
    cancelled = await step(session, "@admin click Cancel")
    assert "Cancelled" in cancelled.text()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM article_uploads") == 0
    assert [a.id for a in await library.library(session.bot.db, session.guild_id)] == [1]


async def test_turning_articles_off_and_members_cannot_use_the_admin_command(session):
    member = await session.run("/config articles")
    assert "Manage Server" in member.text()
    await step(session, f"@admin /config article add file:{WALKING}")
    await step(session, "@admin click Add this article")
    off = await step(session, "@admin /config articles turn_off:phone app")
    assert "**Phone App Nudges People With Chronic Pain to Walk More** is off." in off.text()
    assert (await session.bot.guild_settings.get(session.guild_id)).hidden_articles == (2,)
    last = await step(session, "@admin /config articles turn_off:#1")
    assert "is the featured article" in last.text()
    assert (await session.bot.guild_settings.get(session.guild_id)).hidden_articles == (2,)
    on = await step(session, "@admin /config articles turn_on:Phone")
    assert "is on." in on.text()
    assert (await session.bot.guild_settings.get(session.guild_id)).hidden_articles == ()
