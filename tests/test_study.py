"""The study core: sentence splitting, the study card, answers to questions, glossary and source.

The second article (tests/fixtures/second_article.txt) is made up for these tests: a different small
study, with its own numbers, journal and institution (all fictional), in the same page form as the
seed article. Anything that only works on the seed article fails there.
"""

import asyncio
import random
import re
from pathlib import Path

import pytest

from bot import study
from bot.article import parse_article
from bot.config import DATA_DIR
from bot.errors import UserFacingError
from bot.ingest import load_article, load_file
from bot.safety import NOT_MEDICAL_ADVICE
from bot.text import fold, light_stem, number_value, split_sentences, trim_to, words

SEED = DATA_DIR / "article.txt"
SECOND = Path(__file__).parent / "fixtures" / "second_article.txt"


@pytest.fixture
async def seeded(db):
    await load_file(db, SEED)
    return db


@pytest.fixture
async def second(db):
    await load_article(db, SECOND.read_text(encoding="utf-8"), SECOND.name)
    return db


def seed_card() -> study.StudyCard:
    return study.prepare_study(parse_article(SEED.read_text(encoding="utf-8"))).card


def second_card() -> study.StudyCard:
    return study.prepare_study(parse_article(SECOND.read_text(encoding="utf-8"))).card


def assert_fits_embed(card: study.RenderedCard) -> None:
    assert 0 < len(card.title) <= 256
    assert len(card.description) <= 4096
    assert len(card.fields) <= 25
    for name, value in card.fields:
        assert 0 < len(name) <= 256 and 0 < len(value) <= 1024
    assert len(card.footer) <= 2048
    assert card.total_chars() <= 6000


# -- shared text helpers ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Said lead author Dr. Marco Loggia from Boston. Next one.", ["Said lead author Dr. Marco Loggia from Boston.", "Next one."]),
    ("My dr’s p.a. suggested a diet. It helped.", ["My dr’s p.a. suggested a diet.", "It helped."]),
    ("He said “it works.” Then he left.", ["He said “it works.”", "Then he left."]),
    ("“Why?” she asked. Fine.", ["“Why?” she asked.", "Fine."]),
    ("wishful thinking…Thru the years it hurt", ["wishful thinking…", "Thru the years it hurt"]),
    ("I hear you…how does one do that? I can’t say! 🙂 Thanks all", ["I hear you…how does one do that?", "I can’t say! 🙂", "Thanks all"]),
    ("It costs 5.5 dollars in the U.S. and more elsewhere.", ["It costs 5.5 dollars in the U.S. and more elsewhere."]),
    ("its not funny.I recently stopped", ["its not funny.", "I recently stopped"]),
    ("I fear the cold\nI just think so", ["I fear the cold", "I just think so"]),
    ("about a book\nwritten by Dr. Paul St. Amand, a doctor.", ["about a book\nwritten by Dr. Paul St. Amand, a doctor."]),
    ("", []),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_small_text_helpers():
    assert words("pain-free volunteers don’t count 1,200 or 5.5") == ["pain-free", "volunteers", "don’t", "count", "1,200", "or", "5.5"]
    assert [number_value(w) for w in ("31", "1,200", "Fourteen", "twenty-two", "5.5", "many")] == [31, 1200, 14, 22, None, None]
    assert fold("“Naïve” — café") == '"naive" - cafe'
    assert light_stem("enrolled") == light_stem("enrolment") == "enrol"
    assert light_stem("stress") == "stress"
    cut = trim_to("First sentence here. Second one is much longer than the limit allows.", 30)
    assert cut == "First sentence here."
    assert len(trim_to("word " * 100, 50)) <= 50


def test_textrank_prefers_the_sentence_that_shares_most():
    sets = [{"pain", "brain", "study"}, {"pain", "brain"}, {"brain", "study"}, {"pain", "study"}, {"weather"}]
    scores = study.textrank(sets)
    assert scores.index(1.0) == 0
    assert scores[4] < min(scores[:4])


# -- the card, from the seed article ------------------------------------------------------------

def test_seed_card_facts():
    card = seed_card()
    assert [(g.count, g.label, g.healthy) for g in card.participants] == [
        (31, "patients with fibromyalgia", False), (14, "healthy participants", True)]
    assert card.condition == "fibromyalgia"
    assert card.journal == "Arthritis & Rheumatism"
    assert card.institutions == ["Massachusetts General Hospital", "Harvard Medical School"]
    assert card.city == "Boston"
    assert card.lead_author == "Dr. Marco Loggia"
    assert card.question and card.question.paragraph == 4
    assert {i.paragraph for i in card.findings} == {6, 7, 8}
    assert {i.paragraph for i in card.method} == {5}
    assert any("opioid" in i.text for i in card.interpretation)


def test_seed_limitations_are_built_from_the_text():
    lines = seed_card().limitations
    assert lines[0] == "A small study, in the article's words: 45 people, only 14 of them healthy participants."
    assert "The article describes no follow-up over time." in lines
    assert not any("session" in line for line in lines)   # how many scans each had, the article does not say
    assert "The link to opioids is the researchers' interpretation, not a tested result." in lines
    assert any("cuff pressure pain stimulation" in line for line in lines)


def test_card_items_are_the_articles_own_sentences():
    parsed = parse_article(SEED.read_text(encoding="utf-8"))
    by_position = {s.position: s.text for s in study.article_sentences(parsed.paragraphs)}
    card = seed_card()
    items = [card.question, card.participants_item, card.journal_item, *card.method, *card.findings,
             *card.interpretation, *card.future, *card.background]
    for item in items:
        assert item.text == study.tidy(by_position[item.position])
        # Trimming only removes words: every word shown is in the original, in the same order.
        original = words(by_position[item.position])
        shown = iter(original)
        assert all(w in shown for w in words(item.text))


def test_short_card_states_what_a_newcomer_needs_in_1200_characters():
    card = study.render_card(seed_card(), "short", study.load_reference("article.txt"))
    text = card.as_text()
    # At most 1,200, with room to spare for a longer headline or reference.
    assert card.total_chars() <= study.SHORT_TARGET < study.SHORT_LIMIT == 1200
    assert "31 patients with fibromyalgia and 14 healthy participants" in text
    assert "While lying in an MRI" in text and "a cuff on the leg tightened until it hurt" in text
    assert "ventral tegmental area (VTA, a brain area involved in reward)" in text
    assert "reduced or inhibited" in text
    limits = dict(card.fields)["What it cannot tell us"]
    assert "small study" in limits and "14" in limits and "follow-up" in limits
    assert "Arthritis & Rheumatism" in dict(card.fields)["Where it was published"]
    assert NOT_MEDICAL_ADVICE in card.footer
    assert card.footer == f"Source: Loggia ML et al. Arthritis & Rheumatology 2014;66(1):203-212.\n{NOT_MEDICAL_ADVICE}"
    assert text.endswith(NOT_MEDICAL_ADVICE)
    assert "doi" not in text.lower()
    assert_fits_embed(card)


def test_full_card_fits_one_embed_and_marks_the_interpretation():
    card = study.render_card(seed_card(), "full", study.load_reference("article.txt"))
    assert_fits_embed(card)
    fields = dict(card.fields)
    assert card.total_chars() > 1200
    assert "Our study examines" in card.description
    interpretation = fields["What the researchers think it may mean (their interpretation)"]
    assert "opioid" in interpretation and "sensitivity" in interpretation
    assert fields["Who took part"] == "31 patients with fibromyalgia and 14 healthy participants."
    assert "Massachusetts General Hospital and Harvard Medical School in Boston" in fields["Where it was published"]
    assert "lead author Dr. Marco Loggia" in fields["Where it was published"]
    assert "(now Arthritis & Rheumatology)" in fields["Where it was published"]
    text = card.as_text()
    # Each gloss only the first time its term appears.
    assert text.count("extra sensitivity to pain") == 1
    assert text.count("a brain area involved in reward") == 1
    assert "Disrupted brain circuitry for pain-related reward/punishment in fibromyalgia" in card.footer
    assert card.footer.startswith("Source: Loggia ML, Berna C, Kim J, et al.")
    assert card.footer.endswith(f"\n{NOT_MEDICAL_ADVICE}") and text.endswith(NOT_MEDICAL_ADVICE)


def test_glosses_go_after_the_first_use_only():
    out = study.add_glosses(["No terms here.", "The VTA fired; hyperalgesia too.", "hyperalgesia again"])
    assert out[0] == "No terms here."
    assert out[1] == "The VTA (a brain area involved in reward) fired; hyperalgesia (extra sensitivity to pain) too."
    assert out[2] == "hyperalgesia again"


def test_reference_is_not_shown_for_another_article():
    other = second_card()
    ref = study.load_reference("article.txt")
    assert ref is not None and "doi" not in ref
    assert not study.reference_matches(ref, other)
    card = study.render_card(other, "short", ref)
    assert "Loggia" not in card.as_text()


# -- the card, from the second (made-up) article ------------------------------------------------

def test_second_article_card_facts():
    card = second_card()
    assert [(g.count, g.label, g.healthy) for g in card.participants] == [
        (22, "adults with chronic low back pain", False), (18, "pain-free volunteers", True)]
    assert card.journal == "Northwest Journal of Pain Science"
    assert card.institutions == ["Cascade University School of Medicine"]
    assert card.city == "Portland"
    assert card.lead_author == "Dr. Ana Ruiz"
    assert card.limitations[0] == "A pilot study, in the article's words: 40 people, only 18 of them pain-free volunteers."
    # It followed people for eight weeks and scanned nobody: no scan or follow-up line.
    assert not any("scan" in line or "follow-up" in line for line in card.limitations)
    assert "We wanted to know whether that is true" in card.question.text
    assert card.question.text.startswith("Many of our patients")   # the sentence "that" points back to


@pytest.mark.parametrize("length", ["short", "full"])
def test_second_article_renders_without_a_word_of_the_first(length):
    card = study.render_card(second_card(), length, None)
    text = card.as_text()
    assert_fits_embed(card)
    assert card.total_chars() <= (study.SHORT_TARGET if length == "short" else 6000)
    assert "22 adults with chronic low back pain and 18 pain-free volunteers" in text
    assert "Northwest Journal of Pain Science" in text
    assert card.footer == f"Source: Northwest Journal of Pain Science, as named in the article.\n{NOT_MEDICAL_ADVICE}"
    for word in ("fibromyalgia", "Loggia", "MRI", "opioid", "Arthritis", "31", "14 "):
        assert word not in text
    if length == "full":
        assert "Cascade University School of Medicine in Portland; lead author Dr. Ana Ruiz" in text


THIRD = """Sleep Loss Linked to Next-Day Pain

Researchers at the University of Westbrook found that a night of poor sleep made next-day pain worse in women with fibromyalgia, in a study published online in the journal Sleep and Pain Letters.

The team studied 120 women with fibromyalgia, who wore wrist monitors for two weeks and rated their pain each evening. "Nights with less deep sleep were followed by days with more pain," said senior author Prof. Lena Marsh.

By Jo Reed
"""


def test_other_wordings_of_the_same_facts():
    card = study.prepare_study(parse_article(THIRD)).card
    assert [(g.count, g.label) for g in card.participants] == [(120, "women with fibromyalgia")]
    assert card.journal == "Sleep and Pain Letters"
    assert card.institutions == ["University of Westbrook"]
    assert card.lead_author == "Prof. Lena Marsh"
    assert "The article mentions no comparison group." in card.limitations
    assert not any("follow-up" in line for line in card.limitations)   # two weeks of monitoring
    text = study.render_card(card, "full").as_text()
    assert "Researchers from the University of Westbrook; lead author Prof. Lena Marsh." in text


@pytest.mark.parametrize("sentence, has_one", [
    ("Half took the pill; the other half, the control group, took nothing.", True),
    ("A control group of 20 women did gentle stretches.", True),
    ("The rest stayed on a waiting list.", True),
    ("Sixty used the app, and 60 kept to their usual routine without it.", True),
    ("There was no control group and no placebo.", False),
    ("Without a comparison group we cannot tell whether the capsules did anything.", False),
    ("The study did not include a placebo group.", False),
    ("Everyone took the capsule for six months.", False),
])
def test_a_comparison_group_is_recognised_by_its_wording(sentence, has_one):
    found = study.find_comparison([study.Sentence(1, 1, 1, sentence)])
    assert (found is not None) == has_one


def test_an_article_that_reports_no_study_still_renders():
    card = study.prepare_study(parse_article("Why I Keep Going\n\nLiving with pain is hard. Friends help.\n")).card
    assert card.participants == [] and card.journal is None and card.limitations == []
    rendered = study.render_card(card, "short")
    assert rendered.description == "In brief: Living with pain is hard."
    assert dict(rendered.fields)["Where it was published"] == "The article does not name the journal."
    assert_fits_embed(rendered)


# -- stored at load time ---------------------------------------------------------------------

async def test_loading_stores_sentences_and_card(seeded):
    assert await seeded.fetchval("SELECT COUNT(*) FROM sentences") == 16
    raw = await seeded.fetchval("SELECT card_json FROM articles")
    card = study.StudyCard.from_json(raw)
    assert card == seed_card()
    rows = await seeded.fetchall(
        "SELECT s.paragraph, s.in_paragraph FROM sentences_fts JOIN sentences s ON s.id = sentences_fts.rowid "
        "WHERE sentences_fts MATCH 'enrol'")   # porter stemming: "enrolled" is found by "enrol"
    assert [(r["paragraph"], r["in_paragraph"]) for r in rows] == [(5, 1)]


async def test_summary_and_source_from_the_database(seeded):
    short = await study.study_summary(seeded, "short")
    assert short.total_chars() <= study.SHORT_TARGET and "31 patients" in short.as_text()
    info = await study.source(seeded)
    assert info.headline == "Brain Signals Disrupted in Fibromyalgia Patients"
    assert info.byline == "Pat Anson, Editor"
    assert info.journal_as_named == "Arthritis & Rheumatism"
    assert info.journal_paragraph == 2
    assert info.reference["authors"][0] == "Loggia ML" and info.reference["volume"] == 66
    assert info.reference_line.endswith("Arthritis & Rheumatology 2014;66(1):203-212.")
    assert "does not say which website" in info.published_line
    assert_fits_embed(study.render_source(info))


async def test_every_study_reply_ends_with_the_not_medical_advice_note(seeded):
    replies = {
        "short summary": await study.study_summary(seeded, "short"),
        "full summary": await study.study_summary(seeded, "full"),
        "answer": study.render_answer(await study.ask(seeded, "How many people took part?")),
        "no answer": study.render_answer(await study.ask(seeded, "What is the capital of France?")),
        "own treatment": study.render_answer(await study.ask(seeded, "Should I stop my pain medication?")),
        "glossary": study.render_glossary(await study.glossary_entry(seeded, "VTA")),
        "source": study.render_source(await study.source(seeded)),
    }
    for name, reply in replies.items():
        # The footer is the last thing an embed shows: the note is its last line, said once.
        assert reply.footer.endswith(NOT_MEDICAL_ADVICE), name
        assert reply.as_text().endswith(NOT_MEDICAL_ADVICE), name
        assert reply.as_text().count(NOT_MEDICAL_ADVICE) == 1, name


async def test_second_article_from_the_database_has_no_reference(second):
    info = await study.source(second)
    assert info.reference is None and info.reference_line is None
    assert info.lead_author == "Dr. Ana Ruiz"
    full = await study.study_summary(second, "full")
    assert "Loggia" not in full.as_text()


async def test_an_article_loaded_without_a_card_gets_one(seeded):
    async with seeded.transaction() as tx:
        await tx.execute("DELETE FROM sentences")
        await tx.execute("UPDATE articles SET card_json = NULL")
    study._CACHE.pop(seeded, None)
    answer = await study.ask(seeded, "How many people took part?")
    assert answer.found and answer.best.paragraph == 5
    assert await seeded.fetchval("SELECT COUNT(*) FROM sentences") == 16
    assert await seeded.fetchval("SELECT card_json IS NOT NULL FROM articles") == 1


async def test_no_article_is_a_kind_error(db):
    with pytest.raises(UserFacingError, match="No study article is loaded"):
        await study.ask(db, "how many people?")


# -- answering questions -----------------------------------------------------------------------

# (question, the sentences that may answer best as (paragraph, sentence in paragraph)); None: no answer.
ASK_CASES = [
    ("How many people were in the study?", {(5, 1)}),
    ("Were there healthy controls?", {(5, 1)}),
    ("Do painkillers work for people with fibromyalgia?", {(3, 1), (10, 1)}),
    ("Where was the research done?", {(3, 1)}),
    ("Which journal published it?", {(2, 1)}),
    ("Who led the study?", {(3, 1)}),
    ("What is the VTA?", {(7, 1)}),
    ("What happened in the brains of healthy people?", {(7, 1)}),
    ("What happened to the VTA in fibromyalgia patients?", {(8, 1)}),
    ("How was pain caused during the scan?", {(5, 2)}),
    # How it was done: the member's verb is rarely the article's; the procedure sentence answers.
    ("How was the pain applied?", {(5, 2)}),
    ("How was the pain created?", {(5, 2)}),
    ("How did they cause pain?", {(5, 2)}),
    ("How was it done?", {(5, 2)}),
    ("What methods did they use?", {(5, 2)}),
    ("How were the cues given?", {(5, 3)}),
    ("What did the MRI show?", {(6, 1)}),
    ("Why don't opioids work?", {(10, 1)}),
    ("What is hyperalgesia?", {(2, 1)}),
    ("How many Americans have fibromyalgia?", {(12, 1)}),
    ("Is there a cure?", {(12, 2)}),
    ("What should future research look at?", {(10, 2)}),
    ("Were participants warned before the pain started?", {(5, 3)}),
    ("Why might patients respond less?", {(11, 1)}),
    ("Is this a small study?", {(2, 1)}),
    ("opiods", {(2, 1), (3, 1), (10, 1)}),          # misspelt, as the comments spell it
    ("What does the article say about sleep?", {(12, 1)}),
    ("What was the study trying to find out?", {(4, 1)}),
    ("What is the capital of France?", None),
    ("Does CBD oil help with fibromyalgia pain?", None),
    ("Who paid for the study?", None),
    ("How long did the study last?", None),
    ("Does exercise help?", None),
    ("Were women included?", None),
    ("What dose of pregabalin should I take?", None),
    ("How did they measure happiness?", None),
    ("How do I test for fibromyalgia?", None),
]


@pytest.mark.parametrize("question, expected", ASK_CASES, ids=[q for q, _ in ASK_CASES])
async def test_ask(seeded, question, expected):
    answer = await study.ask(seeded, question)
    if expected is None:
        assert not answer.found and answer.passages == []
        return
    assert answer.found
    assert (answer.best.paragraph, answer.best.in_paragraph) in expected
    assert 1 <= len(answer.passages) <= 3
    # The sentence that answers comes first; the others follow in reading order.
    assert answer.passages[0].best
    assert [p.sentence for p in answer.passages[1:]] == sorted(p.sentence for p in answer.passages[1:])


def test_the_question_set_is_varied_enough():
    assert len(ASK_CASES) >= 15
    assert sum(1 for _, e in ASK_CASES if e is None) >= 4


async def test_a_question_about_the_illness_is_not_read_as_one_about_the_method(seeded):
    # "How does the brain cause ..." asks what the article thinks happens, not how the study was run.
    answer = await study.ask(seeded, "How does the brain cause pain sensitivity?")
    assert answer.found and all(p.paragraph != 5 for p in answer.passages)
    assert "sensitivity" in answer.best.text or "causing" in answer.best.text


async def test_do_opioids_help_quotes_the_sentence_on_their_lack_of_effectiveness(seeded):
    answer = await study.ask(seeded, "Do opioids help with fibromyalgia pain?")
    assert answer.found and 1 <= len(answer.passages) <= 3
    assert any(p.paragraph == 10 and "lack of effectiveness of pain medications such as opioids" in p.text
               for p in answer.passages)
    assert all("opioid" in p.text for p in answer.passages)   # every passage shares the question's subject


@pytest.mark.parametrize("question, only", [
    ("Which hospital did the research?", (3, 1)),      # not "the center of the brain" or the national estimate
    ("Which university were the researchers from?", (3, 1)),
    ("How many people took part?", (5, 1)),            # not the 5 million Americans
    ("What is the VTA?", (7, 1)),
])
async def test_extra_passages_only_when_relevant(seeded, question, only):
    answer = await study.ask(seeded, question)
    assert [(p.paragraph, p.in_paragraph) for p in answer.passages] == [only]


async def test_the_next_sentence_comes_along_when_it_carries_the_same_idea(seeded):
    answer = await study.ask(seeded, "How was the pain applied?")
    assert [(p.paragraph, p.in_paragraph) for p in answer.passages] == [(5, 2), (5, 3)]
    assert answer.best.in_paragraph == 2


@pytest.mark.parametrize("question", [
    "Which university is best for nursing?", "Which hospital sells Lyrica?", "Should I go to the hospital?",
    "Which hospital should I go to?",
])
async def test_place_questions_the_article_cannot_answer(seeded, question):
    answer = await study.ask(seeded, question)
    assert not answer.found and answer.passages == []


async def test_painkillers_find_the_opioid_sentences(seeded):
    answer = await study.ask(seeded, "do painkillers help?")
    assert answer.found and any("opioid" in p.text for p in answer.passages)


async def test_a_sentence_that_points_back_comes_with_the_one_before(seeded):
    answer = await study.ask(seeded, "Why don't opioids work?")
    # The answering sentence first, then the sentence it points back to.
    assert answer.passages[0].best and answer.best.text.startswith("“These observations")
    assert any(p.text.startswith("“Our findings suggest") for p in answer.passages[1:])


@pytest.mark.parametrize("question", [
    "Should I stop taking my opioids?", "Should I take opioids?", "Can I stop my meds?",
    "is it safe for me to take painkillers", "I'm on morphine, will it stop working?",
])
async def test_questions_about_own_treatment_are_flagged_and_still_answered(seeded, question):
    answer = await study.ask(seeded, question)
    assert answer.personal_medical
    assert answer.found and any(re.search(r"opioid|medication", p.text) for p in answer.passages)
    reply = study.render_answer(answer)
    assert "doctor" in reply.description and reply.footer == NOT_MEDICAL_ADVICE


OWN_TREATMENT = [
    "should I stop my meds", "can I take opioids with Lyrica", "do I need more pain medication",
    "Is my dose too high?", "How do I manage my pain?", "What can I take for my flares?",
    "Should I tell my doctor about this study?", "I’m taking Lyrica, is that ok?", "Would opioids help me?",
]
NOT_OWN_TREATMENT = [
    "How do I make pancakes?", "How do I read this study?", "Can I trust this study?", "Do I have fibromyalgia?",
    "Is the weather making my pain worse?", "Can I take part in a study like this?", "Can I share this article?",
    "Can I use this in my support group?", "Do opioids help with fibromyalgia pain?", "What drugs did they test?",
    "Why does my pain get worse at night?",
]


@pytest.mark.parametrize("question", OWN_TREATMENT)
def test_own_treatment_is_recognised(question):
    assert study.is_personal_medical(question)


@pytest.mark.parametrize("question", NOT_OWN_TREATMENT)
def test_first_person_questions_about_anything_else_are_not_own_treatment(question):
    assert not study.is_personal_medical(question)


async def test_own_treatment_answers_quote_what_the_article_says_and_nothing_about_other_medicines(seeded):
    # The article says nothing about Lyrica: the opioid sentences answer, with the doctor pointer.
    answer = await study.ask(seeded, "can I take opioids with Lyrica")
    assert answer.personal_medical and answer.found
    assert answer.best.paragraph == 10 and "opioids" in answer.best.text
    answer = await study.ask(seeded, "do I need more pain medication")
    assert answer.personal_medical and answer.found and "pain medications" in answer.best.text
    # An everyday "how do I" question is neither flagged nor answered.
    answer = await study.ask(seeded, "How do I make pancakes?")
    assert not answer.personal_medical and not answer.found
    assert "doctor" not in study.render_answer(answer).description


async def test_a_bare_question_word_is_not_an_answer_but_where_is(seeded):
    assert not (await study.ask(seeded, "why?")).found
    assert not (await study.ask(seeded, "who?")).found
    assert (await study.ask(seeded, "where?")).best.paragraph == 3


@pytest.mark.parametrize("question", ["How many people took part?", "What did the MRI show?", "why"])
async def test_general_questions_are_not_flagged_personal(seeded, question):
    assert not (await study.ask(seeded, question)).personal_medical


async def test_no_answer_says_so_plainly(seeded):
    reply = study.render_answer(await study.ask(seeded, "What is the capital of France?"))
    assert "does not answer" in reply.description
    assert "/study summary" in reply.description and "/quote" in reply.description
    assert NOT_MEDICAL_ADVICE == reply.footer


async def test_answer_reply_quotes_with_paragraph_numbers(seeded):
    reply = study.render_answer(await study.ask(seeded, "How many people were in the study?"))
    assert "> Researchers enrolled 31 patients with fibromyalgia and 14 healthy participants.\n(paragraph 5)" in reply.description
    assert_fits_embed(reply)


HOSTILE = [
    '"', '""', "'", "*", "***", "pain*", "NEAR(pain opioid)", "NEAR(pain, 2)", "pain AND OR NOT", "(", ")",
    "((opioid", "text:pain", "{text}: pain", "^pain", "pain + opioid -relief", "col:\"x\"", "\\", "\x00",
    "a" * 5000, "opioid " * 300, "🙂🙂🙂", "SELECT * FROM sentences; --", "@everyone how many?", "   ",
    "\u202e\u200b", "NEAR", "OR", "AND", "NOT", "-", ":", "+", "?", "what?!?!", "'; DROP TABLE articles; --",
]


@pytest.mark.parametrize("question", HOSTILE)
async def test_query_syntax_never_raises(seeded, question):
    answer = await study.ask(seeded, question)
    assert isinstance(answer.found, bool)
    assert_fits_embed(study.render_answer(answer))


async def test_random_input_never_raises(seeded):
    rng = random.Random(3)
    alphabet = list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789\"'*():^-+{}[],.?!@#\\/") + ["NEAR", " OR ", " AND ", " NOT ", "opioid", "pain", "é", "ß", "ﬁ", "\u0301"]
    for _ in range(300):
        question = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        answer = await study.ask(seeded, question)
        assert answer.found in (True, False)
    assert await seeded.fetchval("SELECT COUNT(*) FROM articles") == 1


async def test_ask_works_on_the_second_article(second):
    answer = await study.ask(second, "How many people took part?")
    assert answer.found and answer.best.paragraph == 4 and answer.best.in_paragraph == 1
    answer = await study.ask(second, "Where was the research done?")
    assert answer.found and "Cascade University" in answer.best.text
    answer = await study.ask(second, "Which university did the study?")
    assert answer.found and [p.text for p in answer.passages] == [answer.best.text]
    assert "Cascade University" in answer.best.text
    answer = await study.ask(second, "How warm was the pool?")
    assert answer.found and "34 degrees" in answer.best.text
    assert not (await study.ask(second, "What did the MRI show?")).found
    # How it was done, in this article's procedure sentences.
    answer = await study.ask(second, "How was pain measured?")
    assert answer.found and "questionnaire and a bending test" in answer.best.text
    answer = await study.ask(second, "How was the exercise given?")
    assert answer.found and "two exercise sessions a week" in answer.best.text
    answer = await study.ask(second, "What methods did they use?")
    assert answer.found and {p.paragraph for p in answer.passages} == {4}
    assert not (await study.ask(second, "How did they measure blood pressure?")).found


# -- glossary --------------------------------------------------------------------------------

async def test_glossary_choices(seeded):
    everything = await study.glossary_choices(seeded, "")
    assert 10 <= len(everything) <= 25
    for term in ("fibromyalgia", "hyperalgesia", "MRI", "ventral tegmental area", "opioids", "pain anticipation"):
        assert term in everything
    assert "placebo" not in everything            # in the glossary, but not in this article
    assert await study.glossary_choices(seeded, "HYPER") == ["hyperalgesia"]
    assert await study.glossary_choices(seeded, "vta") == ["ventral tegmental area"]
    assert "ventral tegmental area" in await study.glossary_choices(seeded, "tegmen")
    first = await study.glossary_choices(seeded, "pain")
    assert first[0] == "pain anticipation"          # starts with what was typed, before mere containment
    assert all(len(c) <= 100 for c in everything)


async def test_glossary_choices_follow_the_article(second):
    choices = await study.glossary_choices(second, "")
    assert "pilot study" in choices and "hyperalgesia" not in choices


async def test_glossary_entry(seeded):
    entry = await study.glossary_entry(seeded, "Hyperalgesia")
    assert entry.term == "hyperalgesia" and entry.paragraph == 2
    assert "hyperalgesia" in entry.sentence and entry.definition.endswith(".")
    vta = await study.glossary_entry(seeded, "VTA")
    assert vta.term == "ventral tegmental area" and vta.paragraph == 7
    typo = await study.glossary_entry(seeded, "hyperalgesa")
    assert typo.term == "hyperalgesia"
    assert_fits_embed(study.render_glossary(vta))


async def test_unknown_glossary_term_lists_some_that_exist(seeded):
    with pytest.raises(UserFacingError) as caught:
        await study.glossary_entry(seeded, "banana bread")
    message = str(caught.value)
    assert "banana bread" in message and "fibromyalgia" in message and "hyperalgesia" in message


def test_glossary_file_is_well_formed():
    terms = study.glossary_terms()
    assert len({t.term for t in terms}) == len(terms)
    for t in terms:
        assert t.definition.endswith(".") and len(t.definition) < 300
        assert len(split_sentences(t.definition)) == 1, t.term
        assert t.gloss is None or len(t.gloss) <= 40


async def test_study_calls_do_not_block_each_other(seeded):
    # Several members at once: every call completes and gives the same answer.
    answers = await asyncio.gather(*(study.ask(seeded, "How many people were in the study?") for _ in range(20)))
    assert {a.best.sentence for a in answers} == {5}


async def test_every_summary_sentence_is_traceable_and_glosses_read_naturally(seeded):
    full = (await study.study_summary(seeded, "full")).as_text()
    # Nothing the article does not say: it never says how many scans each person had.
    assert "session" not in full
    # The article's own other explanation (patients are always in some pain) is in the full summary.
    assert "One possible explanation for the reduced response" in full
    # A gloss follows the words the term describes.
    assert "opioid pain medication (strong painkillers such as morphine)" in full
    assert "neurochemical basis (" in full and "neurochemical (" not in full


def test_a_gloss_goes_after_the_nouns_a_term_describes():
    assert study.add_glosses(["They took opioid pain medication."])[0] == \
        "They took opioid pain medication (strong painkillers such as morphine)."
    assert study.add_glosses(["It causes hyperalgesia too."])[0] == "It causes hyperalgesia (extra sensitivity to pain) too."
