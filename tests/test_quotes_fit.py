"""Members' posts as first-class quotes, and only quotes that speak to the search: short posts are
tagged, the form's topic hint counts, a post matching no topic is found by its words, a search
for something nobody wrote about shows nothing about something else, typos of topic words find
the topic, and a cure claim shown as a /topics sample line carries its evidence note."""

import pytest

from bot import topics
from bot.config import DATA_DIR
from bot.ingest import load_file
from bot.quotes import find_quotes, topic_counts

GUILD = 1001


@pytest.fixture
async def seeded(db):
    await load_file(db, DATA_DIR / "article.txt")
    return db


async def _post(db, text, *, hint=None, guild_id=GUILD):
    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO posts(guild_id, author_id, anonymous, text, topic_hint, state, created_at)"
            " VALUES (?, 55, 1, ?, ?, 'approved', 'now') RETURNING id", (guild_id, text, hint))
        post_id = (await cur.fetchone())[0]
        await topics.tag_post(tx, post_id, guild_id, text, hint=hint)
    return post_id


async def _every_quote(db, query, *, count=5, user_id=1):
    first = await find_quotes(db, guild_id=GUILD, query=query, user_id=user_id, channel_id=None, count=count)
    pages = [first]
    while not pages[-1].exhausted:
        pages.append(await find_quotes(db, guild_id=GUILD, query=query, user_id=user_id, channel_id=None,
                                       count=count, another=True))
        assert len(pages) < 100
    return [q for p in pages for q in p.quotes], first


def test_a_short_post_is_tagged_like_a_long_one():
    assert "weather" in topics.tag_text("Cold mornings are the worst for my legs.")
    # One weak word in a long text is not enough for a topic.
    long_text = "I went to the shops and then I came back home and cooked a meal for the family. " * 3 + "It was cold."
    assert "weather" not in topics.tag_text(long_text)


@pytest.mark.parametrize("hint, topic", [("sleep", "sleep"), ("insomnia", "sleep"), ("insomina", "sleep"),
                                         ("my meds", "medication"), ("Weather", "weather")])
def test_the_topic_hint_counts_when_it_names_or_clearly_means_a_topic(hint, topic):
    tags, _ = topics._tags_and_flag("My new pills leave me foggy.", hint)
    assert topic in [t.topic for t in tags]


@pytest.mark.parametrize("hint", ["stuff", "my story", "", None])
def test_a_hint_that_names_no_topic_adds_none(hint):
    plain, _ = topics._tags_and_flag("My new pills leave me foggy.")
    tags, _ = topics._tags_and_flag("My new pills leave me foggy.", hint)
    assert [t.topic for t in tags] == [t.topic for t in plain]


async def test_approved_posts_are_found_by_the_obvious_search(seeded):
    cold = await _post(seeded, "Cold mornings are the worst for my legs.")
    hinted = await _post(seeded, "My new pills leave me foggy.", hint="sleep")
    wordy = await _post(seeded, "Knitting with my granddaughter keeps my hands busy.")
    found, _ = await _every_quote(seeded, "cold")
    assert ("post", cold) in {(q.source, q.item_id) for q in found}
    found, _ = await _every_quote(seeded, "sleep")
    assert ("post", hinted) in {(q.source, q.item_id) for q in found}
    found, _ = await _every_quote(seeded, "knitting")     # no topic: found by its words
    assert [(q.source, q.item_id) for q in found] == [("post", wordy)]


@pytest.mark.parametrize("query", ["pregnancy", "menopause", "thyroid", "brain fog"])
async def test_no_quote_about_something_else(seeded, query):
    found, first = await _every_quote(seeded, query)
    word = query.split()[0]
    assert all(word in q.full_text.lower() for q in found), [q.full_text[:80] for q in found]
    if not found:
        assert first.nearest_topics            # the nearest topics are offered instead


async def test_fewer_quotes_than_asked_for_are_said_and_nearest_topics_offered(seeded):
    result = await find_quotes(seeded, guild_id=GUILD, query="chiropractor", user_id=7, channel_id=None, count=5)
    assert 0 < len(result.quotes) < 5 and result.exhausted
    # Chiropractor and massage are searched together (one group of terms in the taxonomy).
    assert all(w in q.full_text.lower() for q in result.quotes for w in ["chiropractor"] if "massage" not in q.full_text.lower())
    assert "alternative treatments" in result.nearest_topics


@pytest.mark.parametrize("typo, topic", [("insomina", "sleep"), ("exersize", "exercise"), ("medicaton", "medication")])
async def test_typos_of_topic_words_find_the_topic(seeded, typo, topic):
    assert topics.match_query(typo).topics == (topic,)
    result = await find_quotes(seeded, guild_id=GUILD, query=typo, user_id=8, channel_id=None, count=3)
    assert len(result.quotes) == 3 and all(topic in q.topics for q in result.quotes)


async def test_a_cure_claim_as_a_topics_sample_line_carries_its_evidence_note(seeded):
    counts = await topic_counts(seeded, GUILD)
    claims = [t for t in counts if "guaifenesin" in t.sample_phrase.lower() and "revers" in t.sample_phrase.lower()]
    assert claims, [t.sample_phrase for t in counts]
    assert all(t.sample_note and "placebo" in t.sample_note for t in claims)
    # A line that makes no claim carries no note, even when its text makes one further on.
    assert all(t.sample_note is None for t in counts if "guaifenesin" not in t.sample_phrase.lower())


def test_a_search_repeated_in_a_reply_never_shows_raw_mention_markup():
    from cogs.quotes import said
    assert said("<@123456789012345678> sleep") == "“@user sleep”"
    assert "<#" not in said("<#123456789012345678>") and "<@&" not in said("<@&123456789012345678>")
