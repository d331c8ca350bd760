"""/study ask on questions written the way members write them, by people who had not seen the code
(tests/data/study_questions.jsonl), scored as `python -m bot.study.evaluation` scores them."""

import pytest

from bot import study
from bot.config import DATA_DIR
from bot.ingest import load_file
from bot.study.evaluation import DEFAULT_QUESTIONS, evaluate, figures, first_quoted, is_held_out, judge, load_questions


@pytest.fixture
async def seeded(db):
    await load_file(db, DATA_DIR / "article.txt")
    return db


def test_the_question_set_is_large_varied_and_split_by_a_fixed_rule():
    cases = load_questions(DEFAULT_QUESTIONS)
    assert len(cases) >= 150
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert c["question"].strip() and isinstance(c["answerable"], bool)
        assert (not c["answerable"]) or c["expected"], c["id"]
    assert sum(not c["answerable"] for c in cases) >= 30
    assert sum(c["personal_treatment"] for c in cases) >= 10
    held = [c for c in cases if is_held_out(c["id"])]
    assert 0.2 <= len(held) / len(cases) <= 0.4
    assert [is_held_out(c["id"]) for c in cases] == [is_held_out(c["id"]) for c in cases]


def test_judging_a_reply():
    answerable = {"id": "x", "question": "q", "intent": "i", "answerable": True, "personal_treatment": False,
                  "expected": ["Arthritis and Rheumatism"]}
    right = "> A study in the journal Arthritis & Rheumatism.\n(paragraph 2)\n\n> Other.\n(paragraph 3)"
    assert first_quoted(right) == "A study in the journal Arthritis & Rheumatism."
    assert judge(answerable, right).right                       # "&" and "and" alike, case aside
    assert not judge(answerable, "> Other.\n(paragraph 3)\n\n> Arthritis & Rheumatism\n(paragraph 2)").right
    assert not judge(answerable, "The article does not answer that question.").right
    unanswerable = dict(answerable, answerable=False, expected=[])
    assert judge(unanswerable, "The article does not answer that question. Try ...").right
    assert not judge(unanswerable, right).right
    personal = dict(unanswerable, personal_treatment=True)
    assert not judge(personal, "The article does not answer that question.").right
    assert judge(personal, "For your own treatment, please ask your doctor or pharmacist. "
                           "The article does not answer that question.").right


async def test_at_least_95_percent_of_the_development_part_is_answered_right(seeded):
    verdicts = await evaluate(seeded, load_questions(DEFAULT_QUESTIONS))
    result = figures(verdicts)
    wrong = [(v.id, v.question, v.why) for v in verdicts if not v.right and not v.held_out]
    assert result["development"]["share"] >= 0.95, wrong
    # The held-out part is never tuned on: its figure is reported, not held to the bar.
    assert result["held_out"]["total"] > 0


# Questions members asked that got a dead end or a wrong answer, and what the article says.
MEMBERS_QUESTIONS = [
    ("is there a cure for fibro", "no known cure"),
    ("how many people have fibro", "5 million Americans"),
    ("how many people have fibromyalgia", "5 million Americans"),
    ("who did this research", "Marco Loggia"),
    ("who wrote this article", "Pat Anson"),
    ("what did they find", "less robust response"),
    ("how big was the study", "A small study"),
    ("where on the body was the pressure put", "on a leg"),
    ("do fibro patients feel relief the way other people do", "pain relief"),
    ("is it all in my head", "central nervous system"),
    ("is FM real", "brain"),
    ("when was the study done", None),
    ("how many of the patients were women", None),
]


@pytest.mark.parametrize("question, expected", MEMBERS_QUESTIONS, ids=[q for q, _ in MEMBERS_QUESTIONS])
async def test_members_questions(seeded, question, expected):
    answer = await study.ask(seeded, question)
    reply = study.render_answer(answer).description
    if expected is None:
        assert not answer.found and "does not answer" in reply
        return
    assert answer.found and answer.passages[0].best
    assert expected.lower() in first_quoted(reply).lower()


async def test_what_they_found_includes_the_vta_finding_and_how_big_gives_the_numbers(seeded):
    found = await study.ask(seeded, "what did they find")
    assert any("VTA" in p.text and "reduced" in p.text for p in found.passages)
    size = await study.ask(seeded, "how big was the study")
    assert any("31 patients" in p.text for p in size.passages)


async def test_the_byline_is_quoted_as_the_byline(seeded):
    reply = study.render_answer(await study.ask(seeded, "who wrote this article"))
    assert "(the article's byline)" in reply.description


async def test_own_treatment_always_points_to_a_doctor_and_says_the_article_cannot_answer(seeded):
    for question in ("what dose of gabapentin should i take", "how many mg of magnesium for fibro cramps",
                     "should i stop taking my opioids"):
        reply = study.render_answer(await study.ask(seeded, question)).description
        assert "doctor or pharmacist" in reply and "does not answer" in reply
