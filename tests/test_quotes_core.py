"""Quotes by topic from the article's comments and a server's approved posts."""

import pytest

from bot import quotes, safety, topics
from bot.quotes import history as quote_history
from bot.quotes import ranking as quote_ranking
from bot.quotes import texts as quote_texts
from bot.config import DATA_DIR
from bot.errors import UserFacingError
from bot.ingest import load_file
from bot.quotes import autocomplete_topics, find_quotes, get_quote, topic_counts

SEED = DATA_DIR / "article.txt"
GUILD_A, GUILD_B = 1001, 2002
CRISIS_POSITION = 7          # "... not always thinking about ended my life."
LONGEST_POSITION = 3         # 1,688 characters

# What a person would call on topic, by comment position (1-24), read from data/article.txt
# before running any search. A search may return fewer; what it returns is judged against these.
SLEEP = {2, 3, 6, 17, 19, 20, 21, 23, 24}
OPIOIDS = {3, 4, 19, 22}                       # Norco, Ultram, "pain meds that don't make me high", morphine
MEDICATION = {3, 4, 7, 10, 13, 19, 20, 22}
DIET = {3, 4, 14}
FAMILY = {3, 5, 8, 11, 13}
TREMORS = {2, 6, 11}
HORMONES = {1, 2, 4}
WEATHER = {1, 2, 4, 23}
SUPPORT = {3, 4, 5, 6, 8, 10, 13, 24}          # not being believed, and those who understand
MENTAL = {3, 7, 8, 18, 20, 21, 24}
GUAIFENESIN = {9, 13, 14, 16}
FATIGUE = {3, 5, 13, 18, 24}
EXERCISE = {2, 3, 4, 12, 13, 20, 21, 23}
GENETICS = {8, 11, 13}
DAILY = {1, 3, 5, 6, 12, 17, 21, 23, 24}
CURE = {4, 7, 9, 10, 13, 14, 15, 16, 18}
SYMPTOMS = {1, 2, 3, 5, 6, 10, 11, 15, 17, 18, 19, 23, 24}
DIAGNOSIS = {2, 4, 5, 7, 11, 16, 17, 19, 21}
PAIN = {2, 3, 4, 5, 6, 10, 12, 13, 15, 17, 18, 19, 21, 22, 23, 24}
ALTERNATIVE = {2, 3, 4, 9, 13, 14, 16, 20}

QUERIES = [
    # topic names
    ("sleep", SLEEP), ("pain", PAIN), ("fatigue", FATIGUE), ("medication", MEDICATION), ("diet", DIET),
    ("exercise", EXERCISE), ("weather", WEATHER), ("symptoms", SYMPTOMS), ("diagnosis", DIAGNOSIS),
    ("family", FAMILY), ("support", SUPPORT), ("mental health", MENTAL), ("genetics", GENETICS),
    ("hormones", HORMONES), ("daily life", DAILY), ("alternative treatments", ALTERNATIVE), ("cure", CURE),
    # synonyms and single terms
    ("insomnia", SLEEP), ("exhaustion", FATIGUE), ("depression", {7, 8, 18, 24}), ("opioids", OPIOIDS),
    ("gluten", DIET), ("husband", {3, 5, 8}), ("tremors", TREMORS), ("shaking", TREMORS),
    ("guaifenesin", GUAIFENESIN), ("massage", {2, 3, 20}), ("chiropractor", {2, 3, 20}),
    # misspellings
    ("opiods", OPIOIDS), ("slep", SLEEP), ("fatige", FATIGUE), ("guaifenisin", GUAIFENESIN),
    ("mentl helth", MENTAL),
    # phrases
    ("hot flashes", HORMONES), ("cold weather", WEATHER), ("not being believed", SUPPORT),
    ("all in my head", SUPPORT), ("tired of being told", SUPPORT), ("doctors dont believe me", SUPPORT | {21}),
    ("water aerobics", EXERCISE), ("mountain biking", EXERCISE), ("runs in the family", GENETICS),
    ("good days and bad days", DAILY), ("waking up in pain", {2, 6, 17, 19, 21, 23, 24}),
    ("pain medication", MEDICATION), ("pain killers that dont get me high", OPIOIDS),
    ("muscle weakness", SYMPTOMS), ("my kids", FAMILY),
    # words the taxonomy does not know, found in the text itself
    ("voodoo doll", {10}),
]
PER_REPLY = 3


@pytest.fixture
async def seeded(db):
    await load_file(db, SEED)
    rows = await db.fetchall("SELECT id, position FROM comments")
    return db, {r["id"]: r["position"] for r in rows}, {r["position"]: r["id"] for r in rows}


def _positions(result, position_of):
    return [position_of[q.item_id] for q in result.quotes if q.source == "comment"]


async def _add_post(db, guild_id, text, *, state="approved", name=None, author_id=55):
    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO posts(guild_id, author_id, author_name, anonymous, text, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'now') RETURNING id",
            (guild_id, author_id, name, 0 if name else 1, text, state),
        )
        post_id = (await cur.fetchone())[0]
        await topics.tag_post(tx, post_id, guild_id, text)
    return post_id


async def _all_pages(db, query, *, guild_id=GUILD_A, user_id=1, channel_id=None, count=5):
    """Every quote a member gets for `query`: the first reply, then "Another" until exhausted."""
    first = await find_quotes(db, guild_id=guild_id, query=query, user_id=user_id, channel_id=channel_id,
                              count=count)
    pages = [first]
    while not pages[-1].exhausted:
        pages.append(await find_quotes(db, guild_id=guild_id, query=query, user_id=user_id,
                                       channel_id=channel_id, count=count, another=True))
        assert len(pages) < 100
    return [q for page in pages for q in page.quotes], pages


# -- relevance ------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", QUERIES, ids=[q for q, _ in QUERIES])
async def test_query_returns_quotes_on_topic(seeded, query, expected):
    db, position_of, _ = seeded
    result = await find_quotes(db, guild_id=GUILD_A, query=query, user_id=1, channel_id=10, count=PER_REPLY)
    got = _positions(result, position_of)
    assert got, f"{query!r} returned nothing"
    assert got[0] in expected, f"{query!r}: best quote {got[0]} is off topic ({got})"
    on_topic = sum(1 for p in got if p in expected)
    assert on_topic >= len(got) - 1, f"{query!r}: {got} against {sorted(expected)}"


async def test_precision_over_all_queries(seeded):
    """Share of returned quotes that are on topic, first reply of each search (3 quotes)."""
    db, position_of, _ = seeded
    returned = on_topic = first_on_topic = 0
    for n, (query, expected) in enumerate(QUERIES):
        result = await find_quotes(db, guild_id=GUILD_A, query=query, user_id=1000 + n, channel_id=None,
                                   count=PER_REPLY)
        got = _positions(result, position_of)
        returned += len(got)
        on_topic += sum(1 for p in got if p in expected)
        first_on_topic += bool(got) and got[0] in expected
    precision = on_topic / returned
    print(f"\nprecision over {len(QUERIES)} searches: {on_topic}/{returned} = {precision:.3f};"
          f" best quote on topic: {first_on_topic}/{len(QUERIES)}")
    assert len(QUERIES) >= 20
    assert precision >= 0.9
    assert first_on_topic == len(QUERIES)


async def test_specific_words_come_first(seeded):
    db, position_of, _ = seeded
    checks = {"husband": {3, 8}, "gluten": {4, 14}, "opiods": {22}, "chiropractor": {2}, "massage": {20},
              "all in my head": {6}, "voodoo doll": {10}}
    for query, first in checks.items():
        result = await find_quotes(db, guild_id=GUILD_A, query=query, user_id=3, channel_id=None, count=len(first))
        assert set(_positions(result, position_of)) == first, query


async def test_matched_topics_and_corrections_are_reported(seeded):
    db, _, _ = seeded
    result = await find_quotes(db, guild_id=GUILD_A, query="opiods", user_id=1, channel_id=None)
    assert result.matched_topics == ("medication",)
    assert result.corrections == (("opiods", "opioids"),)
    assert "medication" in result.quotes[0].topics
    assert result.quotes[0].matched


# -- no match -------------------------------------------------------------------------------

async def test_unknown_word_gives_no_quote_and_nearest_topics(seeded):
    db, _, _ = seeded
    result = await find_quotes(db, guild_id=GUILD_A, query="xylophone", user_id=1, channel_id=None)
    assert result.quotes == () and result.exhausted
    assert 1 <= len(result.nearest_topics) <= 3
    assert set(result.nearest_topics) <= set(topics.taxonomy().topics)
    near = await find_quotes(db, guild_id=GUILD_A, query="sleepyness", user_id=1, channel_id=None)
    assert near.quotes or "sleep" in near.nearest_topics
    # Nothing was recorded for the search that found nothing.
    assert await db.fetchval("SELECT COUNT(*) FROM quote_history WHERE user_id = 1") == len(near.quotes)


async def test_empty_search_is_refused_kindly(seeded):
    db, _, _ = seeded
    with pytest.raises(UserFacingError):
        await find_quotes(db, guild_id=GUILD_A, query="   ", user_id=1, channel_id=None)


# -- another --------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["sleep", "pain", "opiods", "husband", "waking up in pain"])
async def test_another_never_repeats_until_exhausted(seeded, query):
    db, _, _ = seeded
    shown, pages = await _all_pages(db, query, count=1)
    idents = [(q.source, q.item_id) for q in shown]
    assert len(idents) == len(set(idents)), idents
    assert len(idents) >= 2
    assert pages[-1].exhausted and all(not p.exhausted for p in pages[:-1])
    # Once exhausted, "Another" says so with nothing to show.
    after = await find_quotes(db, guild_id=GUILD_A, query=query, user_id=1, channel_id=None, another=True)
    assert after.quotes == () and after.exhausted
    # A new search starts over with the best quote.
    again = await find_quotes(db, guild_id=GUILD_A, query=query, user_id=1, channel_id=None)
    assert (again.quotes[0].source, again.quotes[0].item_id) == idents[0]


async def test_another_is_per_member_and_per_search(seeded):
    db, _, _ = seeded
    a1 = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=1, channel_id=None)
    b1 = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=2, channel_id=None)
    assert a1.quotes[0].item_id == b1.quotes[0].item_id          # another member starts at the best
    a2 = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=1, channel_id=None, another=True)
    assert a2.quotes[0].item_id != a1.quotes[0].item_id
    other = await find_quotes(db, guild_id=GUILD_A, query="pain", user_id=1, channel_id=None, another=True)
    assert other.quotes                                            # a different search has its own list


async def test_count_and_remaining(seeded):
    db, _, _ = seeded
    result = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=1, channel_id=None, count=5)
    assert len(result.quotes) == 5 and not result.exhausted and result.remaining >= 1
    capped = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=1, channel_id=None, count=50)
    assert len(capped.quotes) == quotes.MAX_COUNT


# -- the channel ----------------------------------------------------------------------------

async def test_a_channel_is_not_given_the_same_quote_twice_in_a_row(seeded):
    db, _, _ = seeded
    firsts = []
    for user in range(1, 6):       # five members ask the same thing in one channel
        result = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=user, channel_id=77)
        firsts.append(result.quotes[0].item_id)
    assert all(a != b for a, b in zip(firsts, firsts[1:])), firsts
    # In another channel, the best quote comes first again.
    elsewhere = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=9, channel_id=78)
    assert elsewhere.quotes[0].item_id == firsts[0]
    rows = await db.fetchall("SELECT channel_id, user_id FROM quote_history ORDER BY id")
    assert [(r["channel_id"], r["user_id"]) for r in rows] == [(77, u) for u in range(1, 6)] + [(78, 9)]


async def test_a_quote_shared_to_the_channel_is_not_given_to_it_next(seeded):
    db, _, _ = seeded
    private = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=1, channel_id=None)
    best = private.quotes[0]
    public = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=2, channel_id=40)
    assert public.quotes[0].item_id == best.item_id      # nothing shown in channel 40 yet
    other = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=3, channel_id=41)
    assert other.quotes[0].item_id == best.item_id
    # The member shares their private quote to channel 41: the next search there gives another.
    await quotes.record_shared(db, guild_id=GUILD_A, channel_id=41, user_id=1, source=best.source,
                               item_id=best.item_id)
    await quotes.record_shared(db, guild_id=GUILD_A, channel_id=42, user_id=1, source=best.source,
                               item_id=best.item_id)
    rows = await db.fetchall("SELECT channel_id, user_id, source, item_id FROM quote_history"
                             " WHERE channel_id IN (41, 42) ORDER BY id")
    assert [tuple(r) for r in rows] == [(41, 3, best.source, best.item_id), (41, 1, best.source, best.item_id),
                                        (42, 1, best.source, best.item_id)]
    after = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=4, channel_id=42)
    assert after.quotes[0].item_id != best.item_id
    # Shared is not "seen" for a search: the member's own "Another" is unchanged.
    seen = await db.fetchval("SELECT COUNT(*) FROM quote_seen WHERE user_id = 1")
    assert seen == 1
    with pytest.raises(UserFacingError):
        await quotes.record_shared(db, guild_id=GUILD_A, channel_id=41, user_id=1, source="nope", item_id=1)
    # Forgetting the member forgets what they shared too.
    async with db.transaction() as tx:
        await quotes.forget_member(tx, 1)
    assert await db.fetchval("SELECT COUNT(*) FROM quote_history WHERE user_id = 1") == 0


# -- recording in the background ------------------------------------------------------------

async def test_another_never_repeats_when_records_are_written_in_the_background(seeded):
    db, _, _ = seeded
    shown = []
    result = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=11, channel_id=None, count=2,
                               record_in_background=True)
    # Nothing is committed yet when the reply can go out...
    assert await db.fetchval("SELECT COUNT(*) FROM quote_seen WHERE user_id = 11") == 0
    shown += result.quotes
    while not result.exhausted:
        # ...and "Another" pressed at once still never repeats: it waits for the record.
        result = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=11, channel_id=None, count=2,
                                   another=True, record_in_background=True)
        shown += result.quotes
    idents = [(q.source, q.item_id) for q in shown]
    assert len(idents) == len(set(idents)) >= 4
    await quotes.records_written(db)
    assert await db.fetchval("SELECT COUNT(*) FROM quote_seen WHERE user_id = 11") == len(idents)
    assert quote_history._WRITING.get(db) == {}        # nothing left behind


async def test_a_channel_tie_break_sees_a_record_still_being_written(seeded):
    db, _, _ = seeded
    firsts = []
    for user in range(21, 25):
        result = await find_quotes(db, guild_id=GUILD_A, query="pain", user_id=user, channel_id=90,
                                   record_in_background=True)
        firsts.append(result.quotes[0].item_id)
    assert all(a != b for a, b in zip(firsts, firsts[1:])), firsts
    await quotes.records_written(db, GUILD_A)
    assert await db.fetchval("SELECT COUNT(*) FROM quote_history WHERE channel_id = 90") == 4


async def test_a_failed_background_record_is_logged_not_raised(seeded, caplog):
    db, _, _ = seeded
    async with db.transaction() as tx:
        await tx.execute("DROP TABLE quote_history")
    result = await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=12, channel_id=None,
                               record_in_background=True)
    assert result.quotes
    await quotes.records_written(db)
    assert "could not record" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    # Rolled back as a whole: not half recorded.
    assert await db.fetchval("SELECT COUNT(*) FROM quote_seen WHERE user_id = 12") == 0


# -- what is worked out once per text ---------------------------------------------------------

LONG_POST = (
    "I want to tell you about my week. " * 12
    + "My husband drove me to every appointment and never once doubted me. "
    + "The weather turned cold on Tuesday. " * 10
)


async def test_an_edited_text_is_worked_out_afresh(seeded):
    db, _, _ = seeded
    post_id = await _add_post(db, GUILD_A, LONG_POST)
    before = await find_quotes(db, guild_id=GUILD_A, query="husband", user_id=31, channel_id=None, count=5)
    quote = next(q for q in before.quotes if q.item_id == post_id)
    assert quote.trimmed and "My husband drove me" in quote.excerpt and not quote.sensitive
    assert quote.cure_note is None
    # The same text again comes from the caches, with the very same answer.
    again = await get_quote(db, "post", post_id, GUILD_A)
    assert quotes.excerpt_for(again.full_text, topics.match_query("husband")) == (quote.excerpt, True)

    # The text changes (stored again with its tags, as an edit would be): flags and excerpt follow.
    edited = LONG_POST.replace("My husband drove me to every appointment and never once doubted me. ",
                               "Guaifenesin cured my fibromyalgia completely, my husband says. ")
    async with db.transaction() as tx:
        await tx.execute("UPDATE posts SET text = ? WHERE id = ?", (edited, post_id))
        await topics.tag_post(tx, post_id, GUILD_A, edited)
    after = await find_quotes(db, guild_id=GUILD_A, query="husband", user_id=32, channel_id=None, count=5)
    quote = next(q for q in after.quotes if q.item_id == post_id)
    assert "Guaifenesin cured my fibromyalgia" in quote.excerpt and "drove me" not in quote.excerpt
    assert quote.cure_note and "placebo" in quote.cure_note
    assert (await get_quote(db, "post", post_id, GUILD_A)).cure_note == quote.cure_note


async def test_the_caches_keep_no_text_and_stay_bounded(seeded):
    db, _, _ = seeded
    quotes.clear_caches()
    marker = "Zanzibarian"
    post_id = await _add_post(db, GUILD_A, LONG_POST + f"{marker} tea helps my sleep a little.")
    shown, _ = await _all_pages(db, "sleep", user_id=33)
    assert post_id in {q.item_id for q in shown if q.source == "post"}
    held = repr([list(cache._data.items()) for cache in (quote_texts.FACTS, quote_texts.SENTENCES, quote_texts.EXCERPTS)])
    assert len(quote_texts.EXCERPTS) and len(quote_texts.SENTENCES) and len(quote_texts.FACTS)
    assert marker not in held and "husband drove" not in held

    cache = quote_texts.LRU(3)
    for n in range(5):
        cache.put(n, str(n))
    assert cache.get(0) is None and cache.get(2) == "2"
    cache.put(5, "5")                      # 2 was used last: 3 is the oldest now
    assert cache.get(3) is None and cache.get(2) == "2" and len(cache) == 3


async def test_warm_up_works_out_every_comment(seeded):
    db, _, _ = seeded
    quotes.clear_caches()
    assert await quotes.warm_up(db) == 24
    assert len(quote_texts.FACTS) == 24
    crisis = [f for f in quote_texts.FACTS._data.values() if f.crisis]
    assert len(crisis) == 1
    long_comments = await db.fetchval("SELECT COUNT(*) FROM comments WHERE length(trim(text)) > ?",
                                      (quotes.EXCERPT_LIMIT,))
    assert len(quote_texts.SENTENCES) == long_comments >= 1
    # What the warm-up worked out is what a search would have: the same replies either way.
    warm = await find_quotes(db, guild_id=GUILD_A, query="husband", user_id=34, channel_id=None, count=3)
    quotes.clear_caches()
    cold = await find_quotes(db, guild_id=GUILD_A, query="husband", user_id=35, channel_id=None, count=3)
    assert warm.quotes == cold.quotes


# -- crisis language ------------------------------------------------------------------------

async def test_crisis_comment_never_appears_for_unrelated_topics(seeded):
    db, position_of, id_of = seeded
    crisis_id = id_of[CRISIS_POSITION]
    assert safety.scan((await get_quote(db, "comment", crisis_id, GUILD_A)).full_text).crisis
    tax = topics.taxonomy()
    searches = []
    for topic in tax.topics.values():
        if not topic.allows_sensitive:
            searches += [topic.name, *topic.aliases]
    # The crisis comment's own words, taken as topics: still not a pick for them.
    searches += ["pills", "doctor", "diagnosed", "cure", "sleep meds", "slep", "meds for pain"]
    user = 500
    for query in searches:
        user += 1
        shown, _ = await _all_pages(db, query, user_id=user)
        assert crisis_id not in [q.item_id for q in shown if q.source == "comment"], query


@pytest.mark.parametrize("query", ["suicide", "mental health", "depression", "despair", "ended my life"])
async def test_crisis_comment_is_marked_sensitive_when_it_appears(seeded, query):
    db, position_of, id_of = seeded
    shown, _ = await _all_pages(db, query)
    crisis = [q for q in shown if q.source == "comment" and q.item_id == id_of[CRISIS_POSITION]]
    assert len(crisis) == 1
    assert crisis[0].sensitive
    assert all(not q.sensitive for q in shown if q is not crisis[0])


async def test_direct_match_of_the_whole_search_may_offer_it_marked(seeded):
    db, _, id_of = seeded
    result = await find_quotes(db, guild_id=GUILD_A, query="scrip for sleep", user_id=1, channel_id=None)
    assert result.quotes[0].item_id == id_of[CRISIS_POSITION] and result.quotes[0].sensitive


async def test_sensitive_post_follows_the_same_rule(seeded):
    db, _, _ = seeded
    text = "Some nights the pain is so bad I want to kill myself. Sleep is the only escape."
    post_id = await _add_post(db, GUILD_A, text)
    sleep_quotes, _ = await _all_pages(db, "sleep", user_id=61)
    assert post_id not in [q.item_id for q in sleep_quotes if q.source == "post"]
    mental, _ = await _all_pages(db, "suicide", user_id=62)
    post = [q for q in mental if q.source == "post" and q.item_id == post_id]
    assert post and post[0].sensitive


# -- servers and approval -------------------------------------------------------------------

async def test_posts_of_one_server_never_reach_another(seeded):
    db, _, _ = seeded
    text = "Sleep has been awful, the insomnia is constant and my husband snores too."
    a_post = await _add_post(db, GUILD_A, text, name="Rosa")
    b_post = await _add_post(db, GUILD_B, "My xylophone lessons help me forget the pain for an hour.")
    for query in ["sleep", "insomnia", "husband", "snores", "xylophone", "pain"]:
        a_quotes, _ = await _all_pages(db, query, guild_id=GUILD_A, user_id=71)
        b_quotes, _ = await _all_pages(db, query, guild_id=GUILD_B, user_id=72)
        assert b_post not in {q.item_id for q in a_quotes if q.source == "post"}, query
        assert a_post not in {q.item_id for q in b_quotes if q.source == "post"}, query
    a_sleep, _ = await _all_pages(db, "insomnia", guild_id=GUILD_A, user_id=73)
    mine = [q for q in a_sleep if q.source == "post"]
    assert [q.item_id for q in mine] == [a_post]
    assert mine[0].author_label == "Rosa" and mine[0].origin_label == quotes.ORIGIN_COMMUNITY
    assert (await _all_pages(db, "xylophone", guild_id=GUILD_B, user_id=74))[0][0].item_id == b_post

    with pytest.raises(UserFacingError):
        await get_quote(db, "post", a_post, GUILD_B)
    assert (await get_quote(db, "post", a_post, GUILD_A)).full_text == text

    # Not only filtered at the end: the search itself never reads the other server's posts.
    for guild, other in ((GUILD_A, b_post), (GUILD_B, a_post)):
        for query in ["insomnia", "xylophone snores"]:
            match = topics.match_query(query)
            candidates = await quote_ranking.gather_candidates(db, guild, match)
            assert ("post", other) not in candidates
            assert ("post", other) not in await quote_ranking._free_text_matches(db, guild, match.search_terms)


async def test_only_approved_posts_are_quotable(seeded):
    db, _, _ = seeded
    ids = {state: await _add_post(db, GUILD_A, f"My hot flashes ({state}) are worse every winter night.",
                                  state=state)
           for state in ("pending", "approved", "rejected", "withdrawn")}

    async def posts_for(query, user):
        shown, _ = await _all_pages(db, query, user_id=user)
        return {q.item_id for q in shown if q.source == "post"}

    assert await posts_for("hot flashes", 81) == {ids["approved"]}
    candidates = await quote_ranking.gather_candidates(db, GUILD_A, topics.match_query("hot flashes winter"))
    assert {i for s, i in candidates if s == "post"} == {ids["approved"]}   # not even considered
    assert await posts_for("winter", 82) == {ids["approved"]}       # free text finds only approved ones too
    async with db.transaction() as tx:
        await tx.execute("UPDATE posts SET state = 'approved' WHERE id = ?", (ids["pending"],))
    assert await posts_for("hot flashes", 83) == {ids["approved"], ids["pending"]}
    async with db.transaction() as tx:
        await tx.execute("UPDATE posts SET state = 'withdrawn', text = '' WHERE id = ?", (ids["approved"],))
    assert await posts_for("hot flashes", 84) == {ids["pending"]}
    for state in ("rejected", "withdrawn"):
        with pytest.raises(UserFacingError):
            await get_quote(db, "post", ids[state], GUILD_A)


# -- how quotes look ------------------------------------------------------------------------

async def test_labels_of_comments_and_posts(seeded):
    db, _, id_of = seeded
    penny = await get_quote(db, "comment", id_of[4], GUILD_A)
    assert penny.author_label == "Penny Simpson" and penny.origin_label == quotes.ORIGIN_COMMENTS
    reader = await get_quote(db, "comment", id_of[22], GUILD_A)
    assert reader.author_label == "a reader" and "medication" in reader.topics
    anonymous = await _add_post(db, GUILD_A, "Walking every morning helps my fatigue a little.")
    quote = await get_quote(db, "post", anonymous, GUILD_A)
    assert quote.author_label == "anonymous member" and quote.origin_label == "this server's community"
    assert quote.topics and not quote.trimmed and quote.excerpt == quote.full_text


async def test_long_comment_is_trimmed_around_the_match(seeded):
    db, position_of, id_of = seeded
    longest = await get_quote(db, "comment", id_of[LONGEST_POSITION], GUILD_A)
    assert len(longest.full_text) == max(
        len(r["text"]) for r in await db.fetchall("SELECT text FROM comments"))
    for query, must_contain in [("husband", "husband"), ("glucosamine", "glucosamine"),
                                ("headaches", "headaches"), ("diet", "diet")]:
        shown, _ = await _all_pages(db, query, user_id=90)
        quote = next(q for q in shown if q.source == "comment" and q.item_id == id_of[LONGEST_POSITION])
        assert quote.trimmed and len(quote.excerpt) <= quotes.EXCERPT_LIMIT
        assert must_contain in quote.excerpt.lower(), (query, quote.excerpt)
        inner = quote.excerpt.strip("…")
        assert inner in quote.full_text
        # Cut at sentence boundaries: the excerpt starts a sentence and ends one.
        assert inner[0].isupper()
        assert inner.rstrip()[-1] in ".!?…)🙂”\"" or inner == quote.full_text
        assert quote.full_text == longest.full_text


def test_excerpt_of_one_very_long_sentence():
    text = ("word " * 400) + "my husband understands " + ("more " * 400)
    match = topics.match_query("husband")
    excerpt, trimmed = quotes.excerpt_for(text, match)
    assert trimmed and len(excerpt) <= quotes.EXCERPT_LIMIT
    assert "husband" in excerpt and excerpt.startswith("…") and excerpt.endswith("…")
    short, trimmed = quotes.excerpt_for("I sleep badly.", match)
    assert short == "I sleep badly." and not trimmed


async def test_cure_claims_carry_the_evidence_note(seeded):
    db, position_of, id_of = seeded
    shown, _ = await _all_pages(db, "guaifenesin")
    notes = {position_of[q.item_id]: q.cure_note for q in shown if q.source == "comment"}
    assert notes[14] and notes[16] and "placebo" in notes[14]
    assert notes[9] is None          # the comment calling it snake oil is not a claim


# -- topics with counts ---------------------------------------------------------------------

async def test_topic_counts_per_server(seeded):
    db, _, _ = seeded
    before = {c.name: c.count for c in await topic_counts(db, GUILD_A)}
    assert len(before) == len(topics.taxonomy().topics)

    async def tagged(topic):
        return await db.fetchval("SELECT COUNT(*) FROM topic_tags WHERE topic = ? AND source = 'comment'", (topic,))
    # The crisis comment carries sleep and mental health; it is counted (and offered) only under
    # mental health.
    assert before["sleep"] == await tagged("sleep") - 1
    assert before["mental health"] == await tagged("mental health")
    await _add_post(db, GUILD_A, "Insomnia again, I slept two hours.")
    await _add_post(db, GUILD_A, "Insomnia again, pending.", state="pending")
    await _add_post(db, GUILD_B, "Insomnia in the other server.")
    after = {c.name: c for c in await topic_counts(db, GUILD_A)}
    assert after["sleep"].count == before["sleep"] + 1
    other = {c.name: c.count for c in await topic_counts(db, GUILD_B, samples=False)}
    assert other["sleep"] == before["sleep"] + 1
    for c in after.values():
        assert c.description and len(c.sample_phrase) <= quotes.SAMPLE_PHRASE_LIMIT
        assert (c.sample_phrase != "") == (c.count > 0)
    assert "sleep" in after["sleep"].sample_phrase.lower()
    # Counts match what "Another" can page through.
    shown, _ = await _all_pages(db, "sleep", user_id=95)
    assert len(shown) == after["sleep"].count


async def test_autocomplete(seeded):
    db, _, _ = seeded
    counts = await topic_counts(db, GUILD_A, samples=False)
    choices = autocomplete_topics(counts, "sl")
    sleep_count = next(c.count for c in counts if c.name == "sleep")
    assert choices[0] == (f"Sleep ({sleep_count} quotes)", "sleep")
    assert choices[-1] == ("Search for “sl”", "sl")
    assert autocomplete_topics(counts, "insom")[0][1] == "sleep"        # through an alias
    assert autocomplete_topics(counts, "horm")[0][1] == "hormones"
    assert autocomplete_topics(counts, "opiods")[0][1] == "medication"  # typo
    everything = autocomplete_topics(counts, "")
    assert len(everything) == len(counts) and all(v != "" for _, v in everything)
    assert autocomplete_topics(counts, "xylophone") == [("Search for “xylophone”", "xylophone")]
    assert autocomplete_topics(counts, "sleep")[0] == (next(n for n, v in choices if v == "sleep"), "sleep")
    assert all(v != "sleep" or n.startswith("Sleep") for n, v in autocomplete_topics(counts, "sleep"))
    for typed in ["", "s", "a", "pain", "x" * 300, "@everyone <@123> **bold**", "   ", "é" * 150]:
        result = autocomplete_topics(counts, typed)
        assert len(result) <= 25
        for name, value in result:
            assert 1 <= len(name) <= 100 and 1 <= len(value) <= 100


# -- privacy --------------------------------------------------------------------------------

async def test_forget_member_and_prune(seeded):
    db, _, _ = seeded
    await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=1, channel_id=5)
    await find_quotes(db, guild_id=GUILD_A, query="sleep", user_id=2, channel_id=5)
    async with db.transaction() as tx:
        await quotes.forget_member(tx, 1)
    assert await db.fetchval("SELECT COUNT(*) FROM quote_history WHERE user_id = 1") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM quote_seen WHERE user_id = 1") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM quote_history WHERE user_id = 2") == 1
    assert await quotes.prune_history(db, keep_days=30) == 0
    async with db.transaction() as tx:
        await tx.execute("UPDATE quote_history SET shown_at = '2020-01-01T00:00:00+00:00'")
        await tx.execute("UPDATE quote_seen SET shown_at = '2020-01-01T00:00:00+00:00'")
    assert await quotes.prune_history(db, keep_days=30) == 2
