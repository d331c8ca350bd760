"""The topic taxonomy: tagging texts, reading searches, stored tags and retagging."""

import json

import pytest

from bot import quotes, topics
from bot.quotes import ranking as quote_ranking
from bot.article import parse_article
from bot.config import DATA_DIR
from bot.ingest import load_file

SEED = DATA_DIR / "article.txt"

# The topics the community asked for, each as (a name it may go by, words its description
# must mention), so that renaming a topic does not break the test but dropping one does.
REQUIRED = [
    ("sleep", "sleep"), ("pain", "pain"), ("fatigue", "exhaust"), ("medication", "opioid"),
    ("alternative treatments", "supplement"), ("diet", "food"), ("exercise", "walk"),
    ("weather", "cold"), ("symptoms", "tremor"), ("diagnosis", "doctor"), ("family", "husband"),
    ("support", "believ"), ("mental health", "depression"), ("genetics", "famil"),
    ("hormones", "hormon"), ("daily life", "day"),
]


@pytest.fixture(scope="module")
def comments():
    return parse_article(SEED.read_text(encoding="utf-8")).comments


def test_taxonomy_covers_the_requested_topics():
    tax = topics.taxonomy()
    assert len(tax.topics) >= 16
    for name, word in REQUIRED:
        topic = tax.topics[name]
        text = (topic.title + " " + topic.description).lower()
        assert word in text, (name, text)
    for topic in tax.topics.values():
        assert 1 <= len(topic.name) <= 100 and topic.name == topic.name.lower()
        assert 1 <= len(topic.description) <= 100
    # Exactly one topic may offer quotes about self-harm, and it is mental health.
    assert [t.name for t in tax.topics.values() if t.allows_sensitive] == ["mental health"]


@pytest.mark.parametrize("word, same", [
    ("sleeping", "sleep"), ("sleeps", "sleep"), ("believed", "believe"), ("aching", "ache"),
    ("hormones", "hormone"), ("knees", "knee"), ("don’t", "dont"), ("night's", "night"),
])
def test_stems_bring_word_forms_together(word, same):
    assert topics.stem(word) == topics.stem(same)


@pytest.mark.parametrize("text, expected, not_expected", [
    ("I can't sleep at night because of the pain.", {"sleep", "pain"}, set()),
    ("My husband doesn't believe me, he says it's all in my head.", {"family", "support"}, set()),
    ("The opiods never did much for me.", {"medication"}, set()),          # misspelt as in the comments
    ("I went gluten-free and cut processed foods.", {"diet"}, set()),
    ("I'm tired of being told I look fine.", {"support"}, {"fatigue"}),    # "tired of" is not fatigue
    ("My feet really bother me after a walk.", set(), {"family"}),        # "bother" is not "brother"
    ("Hot flashes and sweating all winter.", {"hormones", "weather"}, set()),
    ("My grandmother had it too; I think it runs in the family.", {"genetics"}, set()),
    ("Water aerobics is the best exercise I can get.", {"exercise"}, set()),
    ("The tremors started last year, my hands shake.", {"symptoms"}, set()),
    ("Depression and anxiety come with the pain.", {"mental health"}, set()),
    ("Good days and bad days, I pace myself at work.", {"daily life"}, set()),
])
def test_tag_text(text, expected, not_expected):
    found = set(topics.tag_text(text))
    assert expected <= found, found
    assert not (not_expected & found), found


def test_tag_text_orders_by_strength_and_ignores_empty_text():
    assert topics.tag_text("") == []
    assert topics.tag_text("   ") == []
    tags = topics.taxonomy().tag("Sleep, sleep, sleep. I walked once.")
    assert tags[0].topic == "sleep"


def test_every_seed_comment_is_tagged_and_many_have_several(comments):
    tagged = {c.position: topics.tag_text(c.text) for c in comments}
    assert all(tagged.values()), [p for p, t in tagged.items() if not t]
    assert sum(1 for t in tagged.values() if len(t) >= 2) >= 18
    # Spot checks a reader would agree with.
    assert "medication" in tagged[22]          # "opiods", "morphine"
    assert "genetics" in tagged[11]
    assert "weather" in tagged[1] and "hormones" in tagged[1]
    assert "mental health" in tagged[7]        # "not always thinking about ended my life"
    assert "alternative treatments" in tagged[9]


@pytest.mark.parametrize("query, topic, topic_only", [
    ("sleep", "sleep", True),
    ("insomnia", "sleep", True),                 # a synonym
    ("Insomnia ", "sleep", True),
    ("slep", "sleep", True),                     # a typo of the name
    ("opiods", "medication", False),             # a typo of a term
    ("gluten", "diet", False),
    ("husband", "family", False),
    ("hot flashes", "hormones", True),
    ("mentl helth", "mental health", False),
    ("fatige", "fatigue", True),
    ("water aerobics", "exercise", False),
])
def test_match_query_reads_names_synonyms_terms_and_typos(query, topic, topic_only):
    m = topics.match_query(query)
    assert topic in m.topics
    assert m.topic_only is topic_only


def test_match_query_details():
    m = topics.match_query("opiods")
    assert m.corrections == (("opiods", "opioids"),)
    assert "opioids" in m.keys["medication"]           # the opioid group of terms
    assert "opiod" in m.text_terms["medication"]        # also looked for as written
    m = topics.match_query("husband")
    assert "partner" in m.keys["family"]
    m = topics.match_query("waking up in pain")
    assert set(m.topics) == {"sleep", "pain"}
    m = topics.match_query("voodoo doll")
    assert m.topics == () and m.free_terms == ("voodoo", "doll")
    assert topics.match_query("xylophone").topics == ()
    assert topics.match_query("").empty and topics.match_query("the and of").empty


def test_nearest_topics_for_a_near_miss():
    tax = topics.taxonomy()
    assert tax.nearest_topics("sleeep")[0] == "sleep"
    assert "hormones" in tax.nearest_topics("hormonal imbalance")
    assert len(tax.nearest_topics("zzzz qqq")) <= 3


# -- stored tags ----------------------------------------------------------------------------

async def _post(db, guild_id, text, state="pending"):
    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO posts(guild_id, author_id, text, state, created_at) VALUES (?, 7, ?, ?, 'now') RETURNING id",
            (guild_id, text, state),
        )
        post_id = (await cur.fetchone())[0]
        await topics.tag_post(tx, post_id, guild_id, text)
    return post_id


async def _tags(db, source, item_id):
    return await db.fetchall(
        "SELECT guild_id, topic, quotable, sensitive FROM topic_tags WHERE source = ? AND item_id = ? ORDER BY topic",
        (source, item_id),
    )


async def test_loading_the_article_tags_every_comment(db):
    report = await load_file(db, SEED)
    ids = [r["id"] for r in await db.fetchall("SELECT id FROM comments ORDER BY position")]
    assert len(ids) == report.comments == 24
    for comment_id in ids:
        rows = await _tags(db, "comment", comment_id)
        assert rows and all(r["guild_id"] == topics.COMMENTS_GUILD and r["quotable"] == 1 for r in rows)
    crisis = await _tags(db, "comment", ids[6])
    assert all(r["sensitive"] == 1 for r in crisis)
    assert await db.fetchval("SELECT COUNT(*) FROM topic_tags WHERE sensitive = 1 AND source = 'comment'") == len(crisis)


async def test_post_tags_follow_the_post_state(db):
    post_id = await _post(db, 42, "Since the cold weather came I can't sleep and my husband is worried.")
    rows = await _tags(db, "post", post_id)
    assert {r["topic"] for r in rows} >= {"sleep", "weather", "family"}
    assert all(r["guild_id"] == 42 and r["quotable"] == 0 for r in rows)     # pending: not quotable

    async with db.transaction() as tx:
        await tx.execute("UPDATE posts SET state = 'approved' WHERE id = ?", (post_id,))
    assert all(r["quotable"] == 1 for r in await _tags(db, "post", post_id))
    async with db.transaction() as tx:
        await tx.execute("UPDATE posts SET state = 'withdrawn' WHERE id = ?", (post_id,))
    assert all(r["quotable"] == 0 for r in await _tags(db, "post", post_id))

    async with db.transaction() as tx:
        await topics.untag_post(tx, post_id)
    assert await _tags(db, "post", post_id) == []

    other = await _post(db, 42, "Gluten free diet helped my pain a little.", state="approved")
    assert all(r["quotable"] == 1 for r in await _tags(db, "post", other))
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM posts WHERE id = ?", (other,))
    assert await _tags(db, "post", other) == []                             # deleted with the post


async def test_tag_post_is_rolled_back_with_the_callers_transaction(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO posts(guild_id, author_id, text, state, created_at) VALUES (1, 2, 'I sleep badly', 'approved', 'x')"
                " RETURNING id")
            await topics.tag_post(tx, (await cur.fetchone())[0], 1, "I sleep badly")
            raise RuntimeError("the caller fails after tagging")
    assert await db.fetchval("SELECT COUNT(*) FROM topic_tags WHERE source = 'post'") == 0


async def test_a_fresh_database_needs_no_retagging(db, tmp_path):
    await load_file(db, SEED)        # the first article of an empty database: tagged as current
    assert await db.get_meta(topics.META_KEY) == topics.taxonomy().digest
    assert await topics.retag_all_if_taxonomy_changed(db) is False


async def test_retag_when_the_taxonomy_changes(db, tmp_path, monkeypatch):
    post_id = await _post(db, 9, "Insomnia every night, I barely sleep.", state="approved")
    await load_file(db, SEED)        # posts exist already: the hash is not assumed
    assert await db.get_meta(topics.META_KEY) is None
    async with db.transaction() as tx:   # as if the post had been stored before topics existed
        await topics.untag_post(tx, post_id)
    assert await topics.retag_all_if_taxonomy_changed(db) is True       # no hash stored yet
    assert await db.get_meta(topics.META_KEY) == topics.taxonomy().digest
    assert "sleep" in {r["topic"] for r in await _tags(db, "post", post_id)}
    assert await topics.retag_all_if_taxonomy_changed(db) is False      # unchanged: nothing to do
    before = await db.fetchval("SELECT COUNT(*) FROM topic_tags")

    # A taxonomy with a new topic signalled by words already in the texts: the stored tags
    # must follow.
    data = json.loads(topics.TAXONOMY_PATH.read_text(encoding="utf-8"))
    data["topics"].append({
        "name": "night owls", "title": "Night owls", "description": "Awake at night",
        "signals": [{"weight": 1.0, "terms": ["insomnia", "dreams", "groggy"]}],
    })
    changed = tmp_path / "topics.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(topics, "_TAXONOMY", topics.load_taxonomy(changed))
    assert topics.taxonomy().digest != await db.get_meta(topics.META_KEY)

    assert await topics.retag_all_if_taxonomy_changed(db) is True
    assert "night owls" in {r["topic"] for r in await _tags(db, "post", post_id)}
    post_row = [r for r in await _tags(db, "post", post_id) if r["topic"] == "night owls"][0]
    assert post_row["guild_id"] == 9 and post_row["quotable"] == 1
    assert await db.fetchval("SELECT COUNT(*) FROM topic_tags WHERE topic = 'night owls' AND source = 'comment'") > 0
    assert await db.fetchval("SELECT COUNT(*) FROM topic_tags") > before
    assert await db.get_meta(topics.META_KEY) == topics.taxonomy().digest


def test_taxonomy_digest_follows_the_file(tmp_path):
    original = topics.load_taxonomy()
    copy = tmp_path / "topics.json"
    copy.write_bytes(topics.TAXONOMY_PATH.read_bytes())
    assert topics.load_taxonomy(copy).digest == original.digest
    data = json.loads(copy.read_text(encoding="utf-8"))
    data["topics"][0]["signals"][0]["terms"].append("snooze")
    copy.write_text(json.dumps(data), encoding="utf-8")
    assert topics.load_taxonomy(copy).digest != original.digest


def test_a_topic_twice_is_refused(tmp_path):
    data = json.loads(topics.TAXONOMY_PATH.read_text(encoding="utf-8"))
    data["topics"].append(dict(data["topics"][0]))
    bad = tmp_path / "topics.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        topics.load_taxonomy(bad)


# -- markdown emphasis ----------------------------------------------------------------------

@pytest.mark.parametrize("typed, plain", [
    ("__zumba__", "zumba"), ("_zumba_", "zumba"), ("**zumba**", "zumba"), ("*zumba*", "zumba"),
    ("~~zumba~~", "zumba"), ("||zumba||", "zumba"), ("`zumba`", "zumba"),
    ("_swimming_", "swimming"), ("__gluten__ free", "gluten free"), ("**cold** _weather_", "cold weather"),
])
def test_emphasis_does_not_glue_to_words_in_a_search(typed, plain):
    emphasised, bare = topics.match_query(typed), topics.match_query(plain)
    assert emphasised.text == bare.text == plain
    assert emphasised.free_terms == bare.free_terms
    assert emphasised.topics == bare.topics and emphasised.keys == bare.keys
    tax = topics.taxonomy()
    assert tax.nearest_topics(typed) == tax.nearest_topics(plain)


def test_strip_emphasis_keeps_offsets_and_matching_text_reads_words():
    text = "I started __zumba__ and *swimming* in my_pool"
    stripped = topics.strip_emphasis(text)
    assert len(stripped) == len(text) and "_" not in stripped and "*" not in stripped
    assert stripped.split() == ["I", "started", "zumba", "and", "swimming", "in", "my", "pool"]
    assert topics.matching_text(topics.matching_text(text)) == topics.matching_text(text)
    # The quotes search looks for its words with word boundaries, which an underscore defeats.
    assert quote_ranking.term_hits(topics.matching_text(text), ("zumba", "swim", "pool")) == {"zumba", "swim", "pool"}
    assert "exercise" in topics.tag_text("Some __swimming__ most days, and *yoga*.")


@pytest.fixture
def text_search_reads_matching_text(monkeypatch):
    """The one-line change `bot.quotes.ranking.term_hits` needs to find a word written with emphasis
    ("__zumba__") or to skip a title in a name: read `topics.matching_text(text)`, not the raw text."""
    original = quote_ranking.term_hits
    monkeypatch.setattr(quote_ranking, "term_hits", lambda text, terms: original(topics.matching_text(text), terms))


async def _approved_post(db, guild_id, text):
    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO posts(guild_id, author_id, text, state, created_at) VALUES (?, 7, ?, 'approved', 'now')"
            " RETURNING id", (guild_id, text))
        post_id = (await cur.fetchone())[0]
        await topics.tag_post(tx, post_id, guild_id, text)
    return post_id


async def _post_ids(db, guild_id, query, user_id=1):
    result = await quotes.find_quotes(db, guild_id=guild_id, query=query, user_id=user_id, channel_id=None, count=5)
    return [q.item_id for q in result.quotes if q.source == "post"]


async def test_a_word_written_with_emphasis_is_found(db, text_search_reads_matching_text):
    await load_file(db, SEED)
    underlined = await _approved_post(db, 5, "I started __zumba__ classes and my pain eased a little.")
    plain = await _approved_post(db, 5, "Plain zumba twice a week keeps me moving.")
    for n, query in enumerate(["zumba", "__zumba__", "_zumba_", "**zumba**"]):
        assert set(await _post_ids(db, 5, query, user_id=n)) == {underlined, plain}, query


async def test_a_word_written_with_emphasis_is_found_by_the_shipped_search(db):
    await load_file(db, SEED)
    underlined = await _approved_post(db, 5, "I started __zumba__ classes and my pain eased a little.")
    assert underlined in await _post_ids(db, 5, "zumba")


# -- suggestions for autocomplete -----------------------------------------------------------

@pytest.mark.parametrize("typed, topic, label", [
    ("gl", "diet", "gluten"), ("glu", "diet", "gluten"), ("GL", "diet", "gluten"), ("__gl", "diet", "gluten"),
    ("opi", "medication", "opioid"), ("insom", "sleep", "insomnia"), ("twit", "symptoms", "twitch"),
    ("guai", "alternative treatments", "guai"), ("gluten f", "diet", "gluten free"), ("sui", "mental health", "suicide"),
])
def test_suggest_completes_names_aliases_and_strong_terms(typed, topic, label):
    assert topics.taxonomy().suggest(typed).get(topic) == label
    assert topics.suggest(typed) == topics.taxonomy().suggest(typed)


def test_suggest_orders_and_limits():
    tax = topics.taxonomy()
    # Names and aliases before terms: "slee" is the topic sleep before any of its terms.
    assert list(tax.suggest("slee").items())[0] == ("sleep", "sleep")
    assert tax.suggest("g") == {} and tax.suggest("") == {} and tax.suggest("   ") == {}
    assert tax.suggest("xylo") == {}
    # Weak terms do not suggest a topic: "book" (0.5 for alternative treatments) is not about it.
    assert "alternative treatments" not in tax.suggest("boo")
    # Every suggestion really begins with what was typed.
    for typed in ["gl", "op", "me", "do", "co", "we"]:
        for _topic, label in tax.suggest(typed).items():
            assert label.startswith(typed)


async def test_autocomplete_offers_a_topic_through_its_terms(db):
    await load_file(db, SEED)
    counts = await quotes.topic_counts(db, 1, samples=False)
    assert "diet" in [value for _name, value in quotes.autocomplete_topics(counts, "gl")]


# -- crisis language ------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["kms", "KMS", "__kms__", "suicide", "want to die", "sewerslide", "unalive",
                                   "i want to kill myself", "end it all"])
def test_crisis_words_read_as_mental_health(query):
    m = topics.match_query(query)
    assert m.topics[0] == "mental health"
    assert m.free_terms == ()          # "kms" is not looked for as plain text ("5 kms walk")
    assert "despair" in m.keys["mental health"]
    assert topics.taxonomy().nearest_topics(query)[0] == "mental health"


def test_crisis_words_keep_the_rest_of_the_search():
    m = topics.match_query("kms the pain")
    assert m.topics == ("mental health", "pain")
    m = topics.match_query("i cant sleep and want to die")
    assert m.topics == ("mental health", "sleep")
    m = topics.match_query("i want to kill myself")
    assert m.topics == ("mental health",) and m.free_terms == ()


@pytest.mark.parametrize("query", ["5 kms", "I walked 5 kms today", "this flare is killing me", "dead tired"])
def test_figures_of_speech_and_distances_are_not_crisis(query):
    m = topics.match_query(query)
    assert "mental health" not in m.topics
    assert "mental health" not in topics.taxonomy().nearest_topics(query)[:1]
    if "kms" in query:
        assert "kms" in m.free_terms        # kilometres are looked for as written


def test_crisis_keys_come_from_the_detector():
    tax = topics.taxonomy()
    assert tax.crisis_topic == "mental health"
    assert tax.crisis_keys == {"despair"}     # the group holding "suicide", "want to die", ...


def test_a_text_in_crisis_slang_carries_mental_health():
    assert topics.tag_text("honestly kms, the pain never stops") == ["mental health", "pain"]
    assert topics.tag_text("kms") == ["mental health"]
    assert "mental health" not in topics.tag_text("I walked 5 kms today and my legs hurt")
    rows = topics.comment_tag_rows([(1, "honestly kms, the pain never stops")])
    assert {r[1] for r in rows} == {"mental health", "pain"} and all(r[-1] == 1 for r in rows)


async def test_crisis_search_and_crisis_post(db):
    await load_file(db, SEED)
    position_of = {r["id"]: r["position"] for r in await db.fetchall("SELECT id, position FROM comments")}
    result = await quotes.find_quotes(db, guild_id=5, query="kms", user_id=1, channel_id=None, count=3)
    assert result.matched_topics == ("mental health",)
    assert [position_of[q.item_id] for q in result.quotes][0] == 7      # the comment about ending a life
    assert result.quotes[0].sensitive and not any(q.sensitive for q in result.quotes[1:])
    post = await _approved_post(db, 5, "honestly kms, the pain never stops")
    assert post in await _post_ids(db, 5, "mental health", user_id=2)
    assert post not in await _post_ids(db, 5, "pain", user_id=3)       # never under an unrelated topic
    shown = await quotes.find_quotes(db, guild_id=5, query="kms", user_id=4, channel_id=None, count=5)
    assert [q.sensitive for q in shown.quotes if q.source == "post"] == [True]


# -- names are not doctors ------------------------------------------------------------------

BOOK = ("check out the book “what your doctor may not tell you about fibromyalgia” written by Dr. Paul "
        "St. Amand, a doctor who had suffered with fibro.")


@pytest.mark.parametrize("text", [
    BOOK, "Dr. Marco Loggia and Dr. Vitaly Napadow ran the study.", "Written by Dr. Paul St. Amand. Dr. St. Amand says",
    "Prof. Harris and Doctor Edwards, a rheumatologist, wrote it.",
])
def test_a_title_in_a_name_is_not_talk_about_doctors(text):
    assert "diagnosis" not in {t.topic for t in topics.taxonomy().analyse(text)}


@pytest.mark.parametrize("text", [
    "My doctor says it is fibro.", "The doctor ordered blood work.", "my dr changed my meds again",
    "My Dr. Patel listened for once.", "MY DR IS GREAT, my dr really is", "Doctors never listen, doctors never do.",
])
def test_own_doctors_still_count(text):
    assert "diagnosis" in topics.tag_text(text)


def test_doctors_count_as_a_signal_on_their_own():
    tags = {t.topic: t for t in topics.taxonomy().analyse("Doctors never listened to me.")}
    assert "doctors" in tags["diagnosis"].keys
    # The name stays a name: "St. Amand" still signals guaifenesin.
    assert "alternative treatments" in topics.tag_text(BOOK)
    assert "Dr" not in topics.matching_text(BOOK) and "your doctor" not in topics.matching_text(BOOK)
    assert "Dr. Patel" in topics.matching_text("my Dr. Patel")


def test_seed_book_comments_are_not_about_doctors(comments):
    tagged = {c.position: topics.tag_text(c.text) for c in comments}
    assert "diagnosis" not in tagged[14]         # the guaifenesin book and its author
    assert "diagnosis" in tagged[16]             # "early signs of the disease": still diagnosis
    assert "diagnosis" in tagged[4] and "diagnosis" in tagged[7]    # "my dr", "my Doctor"


async def test_a_doctor_search_does_not_start_with_the_book(db, text_search_reads_matching_text):
    await load_file(db, SEED)
    position_of = {r["id"]: r["position"] for r in await db.fetchall("SELECT id, position FROM comments")}
    for n, query in enumerate(["doctor", "doctors", "dr", "my doctor"]):
        result = await quotes.find_quotes(db, guild_id=5, query=query, user_id=n, channel_id=None, count=3)
        first = [position_of[q.item_id] for q in result.quotes if q.source == "comment"]
        assert first and not {14, 16} & set(first), (query, first)
