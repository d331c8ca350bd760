"""The study summary says nothing its article does not: every sentence's facts (names, numbers, body
parts, devices, what was done) are the article's own words, for any article; the method is said in
plain words built from the article's details, or in the article's own words where no rule reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import study
from bot.article import parse_article
from bot.config import DATA_DIR
from bot.study.plain import plain_method
from bot.text import STOPWORDS, light_stem, number_value, split_sentences, words

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLES = {
    "seed": DATA_DIR / "article.txt",
    "tai chi": FIXTURES / "articles" / "tai_chi_sleep.txt",
    "walking": FIXTURES / "articles" / "walking_app.txt",
    "vitamin D": FIXTURES / "articles" / "vitamin_d_pilot.md",
    "warm water": FIXTURES / "second_article.txt",
}

# The words the summary's own frame and its plain-word rules bring ("in the article's words",
# "while lying in", "until it hurt"): they say how, not what. Every other word must be the article's.
FRAME = frozenset("""
article article's words study people took part mentions describes follow-up time link interpretation
researchers researchers' tested result set purpose test gives figures how large differences journal
named name stated led where question brief comparison group not
while lying each person had tightened until hurt loosened pressed heated chilled skin scanner recorded
brains responded signal could see hear warned time start stop half picked chance went other wore measure
""".split())


def parsed(name: str):
    path = ARTICLES[name]
    return parse_article(path.read_text(encoding="utf-8"), markdown=path.suffix == ".md")


def card_of(name: str) -> study.StudyCard:
    return study.prepare_study(parsed(name)).card


def body_of(name: str) -> str:
    """What a summary may rest on: the article's title and body (not its reader comments)."""
    article = parsed(name)
    return "\n".join([article.title, *article.paragraphs])


def without_glosses(text: str) -> str:
    for term in study.glossary_terms():
        if term.gloss:
            text = text.replace(f" ({term.gloss})", "").replace(f", {term.gloss})", ")")
    return text


def unsupported(sentence: str, article: str, card: study.StudyCard) -> list[str]:
    """The words of `sentence` that state something the article does not: a number it never gives
    (other than how many took part in all), or a word it never uses that the frame does not bring."""
    article_words = {light_stem(part.lower()) for w in words(article) for part in [w, *w.split("-")]}
    numbers = {number_value(w) for w in words(article) + article.replace("-", " ").split()} - {None}
    numbers.add(card.total_participants)
    missing = []
    for word in words(without_glosses(sentence)):
        low = word.lower().replace("’", "'")
        value = number_value(low)
        if value is not None:
            if value not in numbers:
                missing.append(word)
        elif low not in STOPWORDS and low not in FRAME and light_stem(low) not in article_words:
            missing.append(word)
    return missing


def test_the_check_catches_a_fact_the_article_does_not_state():
    card, article = card_of("seed"), body_of("seed")
    assert unsupported("Each person had two scan sessions.", article, card) == ["two", "scan", "sessions"]
    assert unsupported("They wore a monitor on the ankle.", article, card) == ["monitor", "ankle"]
    assert unsupported("31 patients with fibromyalgia and 14 healthy participants: 45 people.", article, card) == []


@pytest.mark.parametrize("name", list(ARTICLES))
@pytest.mark.parametrize("length", ["short", "full"])
def test_every_summary_sentence_rests_on_its_article(name, length):
    card = card_of(name)
    article = body_of(name)
    rendered = study.render_card(card, length)
    for part in [rendered.description, *(value for _, value in rendered.fields)]:
        for sentence in split_sentences(part):
            assert unsupported(sentence, article, card) == [], sentence


def test_the_seed_method_is_said_in_plain_words():
    short = dict(study.render_card(card_of("seed"), "short").fields)["How it was done"]
    method = dict(study.render_card(card_of("seed"), "full").fields)["How it was done"]
    assert short.startswith("While lying in an MRI (a scanner that uses a strong magnet), each person had a cuff on "
                             "the leg tightened until it hurt, then loosened; the scanner recorded how their brains "
                             "responded.")
    assert "A signal they could see warned them each time the pain was about to start" in method
    for jargon in ("stimulation", "were performed", "impending", "onset", "offset"):
        assert jargon not in method and jargon not in short, jargon


def test_other_articles_get_plain_method_sentences_from_their_own_details():
    tai_chi = [line.text for line in plain_method(card_of("tai chi").method)]
    assert ("Half of them, picked by chance, went to two tai chi classes a week for twelve weeks; for comparison, "
            "the other half attended a weekly talk about sleep habits.") in tai_chi
    assert ("They wore an activity monitor on the wrist to measure their sleep, for one week before the classes "
            "and one week after the last class.") in tai_chi
    assert not any("the control group" in line for line in tai_chi)


def test_a_method_sentence_no_rule_reads_stays_in_the_articles_words():
    card = card_of("walking")
    lines = [line.text for line in plain_method(card.method, card.findings)]
    assert "Steps were counted by the phone itself." in lines
    # No rule borrows a detail the article lacks: no scanner, cuff or wrist here.
    assert not any(word in " ".join(lines) for word in ("MRI", "cuff", "wrist", "chance"))


def test_a_pain_test_needs_the_scanner_the_stimulus_and_the_body_part_in_the_article():
    item = study.CardItem(1, 1, "Heat pain stimulation was applied during the MRI.")
    assert [line.text for line in plain_method([item])] == ["Heat pain stimulation was applied during the MRI."]
    item = study.CardItem(1, 1, "All participants had heat pain stimulation on the forearm inside a PET scanner.")
    assert [line.text for line in plain_method([item])] == [
        "While lying in a PET scanner, each person had the skin of the forearm heated until it hurt."]
