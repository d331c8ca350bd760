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
    assert mirrored and '"walking_app.txt" added to this server\'s library by' in mirrored[0]

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


# -- members and the articles their server shows ---------------------------------------------------

TAI_CHI = ARTICLES / "tai_chi_sleep.txt"


async def load_shared(session, path: Path) -> int:
    from bot.ingest import load_file

    report = await load_file(session.bot.db, path)
    return report.article_id


def sleep_count(result) -> int:
    import re

    return int(re.search(r"Sleep · (\d+) quotes", result.text()).group(1))


async def test_each_summary_shows_only_its_own_facts_and_ask_names_the_article_that_answers(session):
    sleep_before = sleep_count(await step(session, "/topics"))
    tai_chi = await load_shared(session, TAI_CHI)
    seed = await step(session, "/study summary")  # no article named: the featured one, the seed
    assert "31 patients with fibromyalgia and 14 healthy participants" in seed.text()
    assert "66 women" not in seed.text()
    chosen = await step(session, "/study summary article:tai chi")
    assert "66 women with fibromyalgia" in chosen.text() and "41 minutes longer" in chosen.text()
    assert "31 patients" not in chosen.text() and "Loggia" not in chosen.text()
    assert "Chou ML et al. Journal of Gentle Movement Research 2025" in chosen.text()  # its stored reference
    by_number = await step(session, f"/study source article:#{tai_chi}")
    assert "Dana Whitfield | Health Desk" in by_number.text()

    suggestions = await step(session, "?/study summary article:sleep")
    choices = next(r.body["data"]["choices"] for r in suggestions.requests if r.path.endswith("/callback"))
    assert choices == [{"name": "Tai Chi Classes Help Women With Fibromyalgia Sleep Longer", "value": f"#{tai_chi}"}]

    answer = await step(session, "/study ask question:how many women took part")
    assert "Sixty-six women with fibromyalgia took part" in answer.text()
    assert "“Tai Chi Classes Help Women With Fibromyalgia Sleep Longer” answers this" in answer.text()
    seed_answer = await step(session, "/study ask question:how many people took part article:brain signals")
    assert "31 patients" in seed_answer.text() and "answers this" not in seed_answer.text()
    nothing = await step(session, "/study ask question:what colour is a unicorn")
    assert "None of the 2 articles this server reads answers that question" in nothing.text()

    quote = await step(session, "/quote topic:tai chi")
    assert "Rosa Delgado, in the comments on “Tai Chi Classes Help Women With Fibromyalgia Sleep Longer”" in quote.text()
    # /topics counts the new article's comments too (several of them speak of sleep).
    assert sleep_count(await step(session, "/topics")) > sleep_before


async def test_a_server_that_turns_an_article_off_never_sees_it(two_guilds):
    session = two_guilds
    tai_chi = await load_shared(session, TAI_CHI)
    await step(session, f"@admin /config articles turn_off:#{tai_chi}")
    for text in (await step(session, "/study summary article:tai chi")).text(), \
            (await step(session, f"/study glossary term:pain article:#{tai_chi}")).text():
        assert "no article called" in text
    suggestions = await step(session, "?/study ask article:tai")
    assert next(r.body["data"]["choices"] for r in suggestions.requests if r.path.endswith("/callback")) == []
    quote = await step(session, "/quote topic:tai chi")
    assert "Rosa Delgado" not in quote.text() and "Tai Chi Classes" not in quote.text()
    answer = await step(session, "/study ask question:how many women took part")
    assert "Sixty-six" not in answer.text()
    # With one article left, replies look as they did before the library: no article named.
    seed_quote = await step(session, "/quote topic:sleep")
    assert "in the article's comments" in seed_quote.text() and "comments on “" not in seed_quote.text()
    # The other server still shows it.
    other = await step(session, "/quote topic:tai chi", guild_id=OTHER_GUILD)
    assert "Rosa Delgado" in other.text()


async def test_an_uploaded_article_featured_by_an_admin_is_what_members_read(two_guilds):
    session = two_guilds
    await step(session, f"@admin /config article add file:{WALKING}")
    await step(session, "@admin click Add this article")
    before = await step(session, "/study summary")
    assert "Brain Signals Disrupted" in before.text()
    await step(session, "@admin /config articles feature:phone app")
    after = await step(session, "/study summary")
    assert "Phone App Nudges People With Chronic Pain to Walk More" in after.text()
    assert "120 people with chronic widespread pain" in after.text() and "31 patients" not in after.text()
    quote = await step(session, "/quote topic:walking")
    assert "in the comments on “Phone App Nudges" in quote.text()
    # The server that did not upload it never sees it.
    other = await step(session, "/study summary article:phone app", guild_id=OTHER_GUILD)
    assert "no article called" in other.text()
    other_quote = await step(session, "/quote topic:walking", guild_id=OTHER_GUILD)
    assert "Phone App" not in other_quote.text() and "Sam Ortiz" not in other_quote.text()


async def test_articles_in_the_data_folder_are_loaded_at_start_up_once(tmp_path):
    from emulator.session import BotSession
    from support import OPENAPI_PATH

    folder = tmp_path / "articles"
    folder.mkdir()
    for path in (TAI_CHI, TAI_CHI.with_name("tai_chi_sleep.reference.json"), BROKEN):
        (folder / path.name).write_bytes(path.read_bytes())
    for _start in range(2):  # a restart loads nothing twice
        async with BotSession(tmp_path / "bot.db", openapi_path=OPENAPI_PATH, quiet=0.08, articles_folder=folder) as s:
            titles = [a.title for a in await library.library(s.bot.db, s.guild_id)]
            assert titles == ["Brain Signals Disrupted in Fibromyalgia Patients",
                              "Tai Chi Classes Help Women With Fibromyalgia Sleep Longer"]
            source = await step(s, "/study source article:tai chi")
            assert "Chou ML, Baker T, Singh R." in source.text()  # the reference beside the file
            assert s.errors == []
