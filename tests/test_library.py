"""The library of articles: parsing the fixture shapes, loading several files, migrating an old
database, and what each server shows."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import library
from bot.article import ArticleFormatError, parse_article
from bot.config import DEFAULT_ARTICLE_PATH
from bot.errors import UserFacingError
from bot.guild_settings import GuildConfig, GuildSettings
from bot.ingest import load_file, load_folder
from bot.storage import Database, list_migrations

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLES = FIXTURES / "articles"
TAI_CHI = ARTICLES / "tai_chi_sleep.txt"
VITAMIN_D = ARTICLES / "vitamin_d_pilot.md"
WALKING = ARTICLES / "walking_app.txt"
WARM_WATER = FIXTURES / "second_article.txt"
BROKEN = ARTICLES / "broken_no_body.txt"
GUILD = 111
OTHER = 222


# -- the shapes the parser reads ---------------------------------------------------------------

def test_a_byline_under_the_headline_keeps_the_body_and_replies_nest_two_deep():
    parsed = parse_article(TAI_CHI.read_text())
    assert parsed.byline == "Dana Whitfield | Health Desk"
    assert len(parsed.paragraphs) == 7
    assert parsed.paragraphs[0].startswith("Weekly tai chi classes")
    assert parsed.paragraphs[-1].startswith("Fibromyalgia affects")
    # A reply to a comment, then a reply to that reply.
    who = [(c.author, c.reply_to) for c in parsed.comments]
    assert who == [("Rosa Delgado", None), ("Gwen Hart", "Rosa Delgado"), ("Rosa Delgado", "Gwen Hart"), (None, None)]
    assert parsed.why["3 Comments"].startswith("text of the page's comment box")


def test_markdown_with_a_list_and_no_comments():
    parsed = parse_article(VITAMIN_D.read_text(), markdown=True)
    assert parsed.title == "Vitamin D Pilot Reports Less Fatigue, but Had No Comparison Group"
    assert parsed.byline == "Lee Okafor"
    assert parsed.comments == []
    listed = next(p for p in parsed.paragraphs if p.startswith("How tired"))
    assert listed == ("How tired they felt on most days. How many hours they slept. "
                      "How much pain they had on a scale from 0 to 10.")
    assert not any("**" in p or "](" in p for p in parsed.paragraphs)
    image = next(r for r in parsed.removed if r.startswith("!["))
    assert "image" in parsed.why[image]


def test_a_dash_byline_at_the_end_and_a_name_with_no_comment():
    parsed = parse_article(WALKING.read_text())
    assert parsed.byline == "Priya Natarajan, Science Correspondent"
    assert len(parsed.paragraphs) == 5 and len(parsed.comments) == 3
    assert parsed.comments[2].reply_to == "Corinne"
    assert parsed.why["Jamie Lowe"] == "a name with no comment after it"


def test_the_seed_and_the_second_article_parse_as_before():
    seed = parse_article(DEFAULT_ARTICLE_PATH.read_text())
    assert (len(seed.paragraphs), len(seed.comments), seed.byline) == (12, 24, "Pat Anson, Editor")
    warm = parse_article(WARM_WATER.read_text())
    assert (len(warm.paragraphs), len(warm.comments), warm.byline) == (7, 3, "Sam Porter, Health Reporter")


def test_a_file_with_no_body_is_refused():
    with pytest.raises(ArticleFormatError, match="no body"):
        parse_article(BROKEN.read_text())


# -- loading ------------------------------------------------------------------------------------

async def test_ingest_keeps_each_article_with_its_reference(db):
    for path in (DEFAULT_ARTICLE_PATH, TAI_CHI, VITAMIN_D):
        report = await load_file(db, path)
        assert report.loaded
    again = await load_file(db, TAI_CHI)
    assert not again.loaded and again.article_id == 2
    every = await library.library(db, every_server=True)
    assert [a.title[:20] for a in every] == ["Brain Signals Disrup", "Tai Chi Classes Help", "Vitamin D Pilot Repo"]
    assert [a.has_reference for a in every] == [True, True, False]
    assert [(a.paragraphs, a.comments) for a in every] == [(12, 24), (7, 4), (7, 0)]
    ref = json.loads(await db.fetchval("SELECT reference_json FROM articles WHERE id = 2"))
    assert ref["journal"] == "Journal of Gentle Movement Research"
    tagged = await db.fetchval(
        "SELECT COUNT(DISTINCT t.item_id) FROM topic_tags t JOIN comments c ON c.id = t.item_id "
        "WHERE t.source = 'comment' AND c.article_id = 2")
    assert tagged >= 3  # the new article's comments are tagged like the seed's


async def test_a_folder_loads_what_it_can_and_skips_a_broken_file(db, tmp_path, caplog):
    folder = tmp_path / "articles"
    folder.mkdir()
    for path in (TAI_CHI, TAI_CHI.with_name("tai_chi_sleep.reference.json"), WALKING, BROKEN):
        (folder / path.name).write_bytes(path.read_bytes())
    reports = await load_folder(db, folder)
    assert sorted(r.source for r in reports) == ["tai_chi_sleep.txt", "walking_app.txt"]
    assert "broken_no_body.txt" in caplog.text
    assert [r.loaded for r in await load_folder(db, folder)] == [False, False]  # a restart changes nothing


async def test_an_old_database_migrates_without_loss(tmp_path):
    """A database made before the library (migrations 1-6, the seed loaded, a server's settings)
    keeps every row and gains the library's columns."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for version, name, sql_path in list_migrations():
        if version >= 7:
            continue
        conn.executescript(sql_path.read_text())
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", (version, name))
    conn.execute("INSERT INTO articles (title, byline, source_name, content_hash, loaded_at) VALUES "
                 "('Old', 'Someone', 'article.txt', 'abc', 'then')")
    conn.execute("INSERT INTO paragraphs (article_id, position, text) VALUES (1, 1, 'A paragraph.')")
    conn.execute("INSERT INTO comments (article_id, position, text) VALUES (1, 1, 'A comment.')")
    conn.execute("INSERT INTO guild_settings VALUES (5, 'daily_cap', '3', 'then', 9)")
    conn.commit()
    conn.close()
    async with Database(path) as db:
        assert await db.schema_version() >= 7
        [old] = await library.library(db, 5)
        assert (old.title, old.guild_id, old.paragraphs, old.comments, old.has_reference) == ("Old", None, 1, 1, False)
        config = await GuildSettings(db).get(5)
        assert config.daily_cap == 3 and config.featured_article is None and config.hidden_articles == ()


# -- what a server shows ------------------------------------------------------------------------

def config_with(**values) -> GuildConfig:
    return GuildConfig.build(GUILD, values)


async def loaded(db) -> list[library.ArticleInfo]:
    for path in (DEFAULT_ARTICLE_PATH, TAI_CHI, WALKING):
        await load_file(db, path)
    return await library.library(db, GUILD)


async def test_a_server_that_never_chose_features_its_first_article(db):
    every = await loaded(db)
    server = library.server_articles(every, config_with())
    assert server.ids == [1, 2, 3] and server.featured.id == 1
    chosen = library.server_articles(every, config_with(featured_article=2, hidden_articles=(3,)))
    assert chosen.ids == [1, 2] and chosen.featured.id == 2 and [a.id for a in chosen.hidden] == [3]
    # A featured article that was turned off (or deleted) falls back to the first shown.
    assert library.server_articles(every, config_with(featured_article=3, hidden_articles=(3,))).featured.id == 1


async def test_members_name_an_article_by_a_unique_part_of_its_title_or_its_number(db):
    server = library.server_articles(await loaded(db), config_with(hidden_articles=(3,)))
    assert server.find("tai chi").id == 2
    assert server.find("#1").id == 1 and server.find("2").id == 2
    assert server.find("  TAI   CHI classes help women with fibromyalgia sleep longer ").id == 2
    with pytest.raises(UserFacingError, match="no article called “phone app”"):
        server.find("phone app")  # turned off in this server
    with pytest.raises(UserFacingError, match="More than one article"):
        server.find("fibromyalgia")
    assert library.choices(server.articles, "tai") == [
        ("Tai Chi Classes Help Women With Fibromyalgia Sleep Longer", "#2")]
    assert [v for _, v in library.choices(server.articles, "")] == ["#1", "#2"]


async def test_a_server_keeps_at_least_one_article(db):
    every = await loaded(db)
    config = config_with(hidden_articles=(2, 3))
    server = library.server_articles(every, config)
    with pytest.raises(UserFacingError, match="at least one article"):
        library.turned(server, config, off=[every[0]])
    assert library.turned(server, config, on=[every[2]], off=[every[0]]) == [1, 2]


# -- uploads ------------------------------------------------------------------------------------

async def test_an_upload_is_added_only_after_confirming_and_belongs_to_its_server(db):
    await load_file(db, DEFAULT_ARTICLE_PATH)
    text = library.read_upload(WALKING.read_bytes(), "walking_app.txt")
    parsed = library.parse_upload(text, "walking_app.txt")
    assert await library.already_there(db, parsed, GUILD) is None
    upload = await library.stage_upload(db, GUILD, 42, "walking_app.txt", text)
    assert [a.id for a in await library.library(db, GUILD)] == [1]  # nothing added by the preview
    with pytest.raises(UserFacingError, match="no longer waiting"):
        await library.add_upload(db, upload, OTHER, 43)  # another server's button cannot add it
    report, entry = await library.add_upload(db, upload, GUILD, 42)
    assert report.loaded and entry is not None and entry.action == library.ARTICLE_ADDED
    assert entry.target == f"article:{report.article_id}" and entry.actor_id == 42
    assert [a.id for a in await library.library(db, GUILD)] == [1, report.article_id]
    assert [a.id for a in await library.library(db, OTHER)] == [1]
    assert await db.fetchval("SELECT COUNT(*) FROM article_uploads") == 0
    assert (await library.already_there(db, parsed, GUILD)).id == report.article_id
    # The same file in another server is that server's own copy.
    other_upload = await library.stage_upload(db, OTHER, 43, "walking_app.txt", text)
    other_report, _ = await library.add_upload(db, other_upload, OTHER, 43)
    assert other_report.loaded and other_report.article_id != report.article_id


@pytest.mark.parametrize("name, raw, reason", [
    ("page.html", b"<html><body>x</body></html>", "saved web page"),
    ("notes.pdf", b"%PDF-1.4", "not a .txt or .md file"),
    ("article.txt", b"\xff\xfe\x00T\x00i", "not text"),
    ("article.txt", b"<div><p>Title</p></div>", "web-page code"),
    ("article.txt", b"x" * (library.MAX_UPLOAD_BYTES + 1), "at most"),
])
def test_files_that_cannot_be_articles_are_refused_with_their_reason(name, raw, reason):
    with pytest.raises(UserFacingError, match=reason) as caught:
        library.read_upload(raw, name)
    assert "Nothing was changed" in str(caught.value)


def test_a_file_without_a_body_is_refused_with_its_reason():
    with pytest.raises(UserFacingError, match="no body paragraphs after the title"):
        library.parse_upload(BROKEN.read_text(), BROKEN.name)


async def test_forgetting_a_member_drops_their_waiting_uploads(db):
    await library.stage_upload(db, GUILD, 42, "a.txt", WALKING.read_text())
    assert (await library.export_member_rows(db.conn, 42))["article_files_waiting_for_your_confirmation"]
    async with db.transaction() as tx:
        await library.forget_member(tx, 42)
    assert await db.fetchval("SELECT COUNT(*) FROM article_uploads") == 0


# -- the command line ---------------------------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=300)


def test_ingest_several_files_and_list_them(tmp_path):
    db = str(tmp_path / "cli.db")
    done = run_cli("ingest", "--db", db, str(DEFAULT_ARTICLE_PATH), str(TAI_CHI), str(BROKEN), str(VITAMIN_D))
    assert done.returncode == 2  # one file was refused; the others were loaded
    assert "broken_no_body.txt is not an article in the expected form: no body paragraphs" in done.stderr
    assert "tai_chi_sleep.txt: loaded as article #2" in done.stdout
    assert "vitamin_d_pilot.md: loaded as article #3" in done.stdout
    listed = run_cli("articles", "--db", db, "--json")
    assert listed.returncode == 0
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["comments"], r["reference"]) for r in rows] == [(1, 24, True), (2, 4, True), (3, 0, False)]
    text = run_cli("articles", "--db", db).stdout
    assert "#2 Tai Chi Classes Help Women With Fibromyalgia Sleep Longer" in text and "shared" in text


# -- each card from its own article -------------------------------------------------------------

def card_of(path: Path, length: str = "full") -> dict[str, str]:
    from bot import study

    parsed = parse_article(path.read_text(), markdown=path.suffix == ".md")
    rendered = study.render_card(study.prepare_study(parsed).card, length)
    return {"": rendered.description, **dict(rendered.fields), "footer": rendered.footer}


def test_every_card_holds_its_own_facts_and_says_where_its_article_is_silent():
    tai_chi, vitamin, walking, warm = (card_of(p) for p in (TAI_CHI, VITAMIN_D, WALKING, WARM_WATER))
    assert tai_chi["Who took part"] == "66 women with fibromyalgia."
    assert "41 minutes longer" in tai_chi["What it found"]
    assert tai_chi["Where it was published"].startswith("Journal of Gentle Movement Research. Researchers from "
                                                        "Lakeshore University in Toronto")
    assert "wanted to see whether a gentle activity" in tai_chi[""]
    assert vitamin["Who took part"] == "48 adults with fibromyalgia."
    assert "31 of the 48" in vitamin["What it found"]
    assert "no comparison group" in vitamin["What it cannot tell us"]   # "there was no control group"
    # "the other half, the control group" and "60 kept to their usual routine" are comparison groups.
    assert "no comparison group" not in tai_chi["What it cannot tell us"]
    assert "no comparison group" not in walking["What it cannot tell us"]
    assert vitamin["Where it was published"] == ("The article does not name the journal. "
                                                 "Who led it, and where: not stated in the article.")
    assert walking["Who took part"] == "120 people with chronic widespread pain."
    assert "1,400 more steps" in walking["What it found"]
    assert "lead author Dr. Tomas Berg" in walking["Where it was published"]
    assert warm["Who took part"] == "22 adults with chronic low back pain and 18 pain-free volunteers."
    # No card borrows another article's numbers, journal or people.
    others = {"66 women": tai_chi, "48 adults": vitamin, "120 people": walking, "Cascade University": warm,
              "31 patients": card_of(DEFAULT_ARTICLE_PATH)}
    for needle, own in others.items():
        for card in others.values():
            if card is not own:
                assert needle not in " ".join(card.values())


def test_a_study_card_says_not_stated_where_the_article_is_silent():
    from bot import study

    text = ("Gentle Stretching Studied\n\nTwelve adults with fibromyalgia took part in a small study of "
            "gentle stretching.\n\nBy Kim Lee\n")
    card = study.render_card(study.prepare_study(parse_article(text)).card, "full")
    fields = dict(card.fields)
    assert fields["Who took part"] == "12 adults with fibromyalgia."
    assert fields["How it was done"] == fields["What it found"] == "Not stated in the article."
    assert fields["Where it was published"].endswith("Who led it, and where: not stated in the article.")
