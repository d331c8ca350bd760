from pathlib import Path

import pytest

from bot.article import ArticleFormatError, is_name_line, parse_article
from bot.config import DATA_DIR
from bot.ingest import load_file

SEED = DATA_DIR / "article.txt"


@pytest.fixture(scope="module")
def seed():
    return parse_article(SEED.read_text(encoding="utf-8"))


def test_title_once_and_byline(seed):
    assert seed.title == "Brain Signals Disrupted in Fibromyalgia Patients"
    assert seed.byline == "Pat Anson, Editor"
    assert all(seed.title != p for p in seed.paragraphs)


def test_twelve_paragraphs_with_image_name_removed(seed):
    assert len(seed.paragraphs) == 12
    assert seed.paragraphs[2].startswith("“In patients with fibromyalgia")
    assert "bigstock" not in " ".join(seed.paragraphs)
    assert "bigstock-Human-brain-chart-with-colored-11863427" in seed.removed


def test_comments_authors_and_reply(seed):
    assert len(seed.comments) == 24
    named = {c.author for c in seed.comments if c.author}
    assert named == {"Penny Simpson", "marcia king", "Nicole Vetor", "Mikki Sage Harper"}
    assert sum(1 for c in seed.comments if c.author is None) == 20
    replies = [c for c in seed.comments if c.reply_to]
    assert [c.reply_to for c in replies] == ["Shirley"]
    assert replies[0].text.startswith("You aren’t the only one")
    texts = " ".join(c.text for c in seed.comments)
    assert "newest oldest" not in texts and "Notify of" not in texts


def test_single_newline_continues_a_comment(seed):
    penny = next(c for c in seed.comments if c.author == "Penny Simpson")
    assert "\nI just think this all has something to do with hormones" in penny.text
    assert [c.position for c in seed.comments] == list(range(1, 25))


def test_parser_is_general_not_tied_to_line_numbers():
    text = (
        "Walking Helps Pain\n\nWalking Helps Pain\n\nA new trial says so.\n\n"
        "stock-photo-woman-walking-99887766Researchers followed 40 people.\n\nBy Jane Roe\n\n"
        "Notify of\n\nGreat news.\nI walk every day.\n\nSam Lee\n\n@ Jo: me too, walking helps.\n"
    )
    a = parse_article(text)
    assert a.title == "Walking Helps Pain"
    assert a.byline == "Jane Roe"
    assert a.paragraphs == ["A new trial says so.", "Researchers followed 40 people."]
    assert [(c.author, c.reply_to, c.text) for c in a.comments] == [
        (None, None, "Great news.\nI walk every day."),
        ("Sam Lee", "Jo", "me too, walking helps."),
    ]


@pytest.mark.parametrize("line,expected", [
    ("Penny Simpson", True), ("marcia king", True), ("Mikki Sage Harper", True),
    ("Thank you", False), ("So true!", False), ("I agree with this comment", False), ("ok", False),
])
def test_name_lines(line, expected):
    assert is_name_line(line) is expected


def test_empty_file_is_refused():
    with pytest.raises(ArticleFormatError):
        parse_article("\n\n  \n")


async def test_ingest_is_idempotent(db):
    first = await load_file(db, SEED)
    assert (first.loaded, first.paragraphs, first.comments, first.named_comments) == (True, 12, 24, 4)
    counts = [await db.fetchval(f"SELECT COUNT(*) FROM {t}") for t in ("articles", "paragraphs", "comments")]
    second = await load_file(db, SEED)
    assert second.loaded is False and second.article_id == first.article_id
    assert counts == [await db.fetchval(f"SELECT COUNT(*) FROM {t}") for t in ("articles", "paragraphs", "comments")]
    assert counts == [1, 12, 24]
    hits = await db.fetchall("SELECT rowid FROM comments_fts WHERE comments_fts MATCH 'guaifenesin'")
    assert len(hits) >= 2


async def test_migrations_are_recorded_once(tmp_path):
    from bot.storage import Database, list_migrations
    path = tmp_path / "m.db"
    async with Database(path) as d:
        v = await d.schema_version()
        assert v == max(n for n, _, _ in list_migrations())
        assert await d.fetchval("PRAGMA journal_mode") == "wal"
        assert await d.fetchval("PRAGMA foreign_keys") == 1
    async with Database(path) as d:
        assert await d.migrate() == []
        assert await d.integrity_check() == "ok"
