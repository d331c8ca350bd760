"""/study through the emulator, as a member uses it: summary, ask, glossary, source."""

from __future__ import annotations

import json
import re
import sys

import pytest

from bot.safety import NOT_MEDICAL_ADVICE
from bot.study import GLOSSARY_PATH
from support import is_ephemeral, lift_ask_limit, step

REFERENCE = "Loggia ML, Berna C, Kim J, et al."
NO_ANSWER = "The article does not answer that question"


def embeds(result) -> list[dict]:
    return [e for body in result.bodies() for e in body.get("embeds") or []]


def only_embed(result) -> dict:
    found = embeds(result)
    assert len(found) == 1, f"expected one embed, got {len(found)}"
    return found[0]


def embed_chars(embed: dict) -> int:
    """Every character Discord counts towards an embed's 6000."""
    return (len(embed.get("title") or "") + len(embed.get("description") or "")
            + len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or []))


def field(embed: dict, name_start: str) -> str:
    return next(f["value"] for f in embed.get("fields") or [] if f["name"].startswith(name_start))


def no_pings(result) -> None:
    """Every message the step sent forbids all pings."""
    for body in result.bodies():
        if "embeds" in body or "content" in body:
            assert body.get("allowed_mentions") == {"parse": []}, body.get("allowed_mentions")


def quoted_passages(embed: dict) -> list[tuple[str, int]]:
    """(quoted sentence, paragraph number) pairs of a /study ask reply."""
    return [(text, int(n)) for text, n in re.findall(r"^> (.+)\n\(paragraph (\d+)\)$", embed.get("description") or "", re.M)]


async def article_paragraphs(session) -> dict[int, str]:
    rows = await session.bot.db.fetchall(
        "SELECT position, text FROM paragraphs WHERE article_id = (SELECT MAX(id) FROM articles)")
    return {r["position"]: r["text"] for r in rows}


# -- /study summary -------------------------------------------------------------------------------

async def test_short_summary_states_what_a_newcomer_needs_in_1200_characters(session):
    result = await step(session, "/study summary")
    assert not is_ephemeral(result), "the summary is about the article: the channel sees it by default"
    no_pings(result)
    embed = only_embed(result)
    text = result.text()
    assert embed_chars(embed) <= 1200, embed_chars(embed)
    assert "31 patients with fibromyalgia and 14 healthy participants" in field(embed, "Who took part")
    method = field(embed, "How it was done")
    assert "While lying in an MRI" in method and "a cuff on the leg tightened until it hurt" in method
    assert "VTA" in field(embed, "What it found")
    limits = field(embed, "What it cannot tell us")
    assert "small study" in limits and "14" in limits
    assert "Arthritis & Rheumatism" in field(embed, "Where it was published")
    assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]
    assert "cure" not in text.lower() and "breakthrough" not in text.lower()


async def test_full_summary_fits_one_embed_and_says_more(session):
    short = only_embed(await step(session, "/study summary length:short"))
    result = await step(session, "/study summary length:full")
    embed = only_embed(result)
    assert 1200 < embed_chars(embed) <= 6000
    assert embed_chars(embed) > embed_chars(short)
    assert len(embed.get("fields") or []) <= 25 and len(embed.get("description") or "") <= 4096
    assert "their interpretation" in result.text()                   # marked as the researchers' view
    assert "opioid" in field(embed, "What the researchers think")
    assert "Disrupted brain circuitry" in embed["footer"]["text"]    # the full reference
    assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]


async def test_summary_can_be_private(session):
    result = await step(session, "/study summary private:true")
    assert is_ephemeral(result)
    assert "31 patients" in result.text()


# -- /study ask -----------------------------------------------------------------------------------

# A member's question -> a few words of the sentence that must be quoted, or None when the article
# has no answer and the reply must say so plainly.
QUESTIONS = [
    ("How many fibromyalgia patients were scanned?", "Researchers enrolled 31 patients"),
    ("How many healthy people took part?", "14 healthy participants"),
    ("What kind of brain scan did they use?", "Magnetic resonance images (MRI)"),
    ("Did the participants know when the pain was coming?", "visual cues alerting them"),
    ("What did the VTA do in healthy people?", "In healthy subjects, the ventral tegmental area"),
    ("What happened to the VTA in people with fibromyalgia?", "the VTA responses during periods of pain"),
    ("What did the MRI images show?", "less robust response"),
    ("Which hospital did the research?", "Massachusetts General Hospital"),
    ("Who is the lead author?", "lead author Dr. Marco Loggia"),
    ("Which journal was the study published in?", "published in the journal Arthritis & Rheumatism"),
    ("Do opioids help with fibromyalgia pain?", "opioids"),
    ("Why might patients respond less to pain relief?", "One possible explanation"),
    ("How common is fibromyalgia?", "5 million Americans"),
    ("Is fibromyalgia curable?", "There is no known cure"),
    ("What should future studies investigate?", "Future studies should further investigate"),
    ("What did the researchers want to find out?", "Our study examines"),
    ("What does VTA stand for?", "ventral tegmental area (VTA)"),
    ("What is the best diet for fibromyalgia?", None),
    ("Does acupuncture help?", None),
    ("How old were the participants?", None),
    ("Who funded the research?", None),
    ("Is the weather making my pain worse?", None),
    ("Were the participants given a placebo?", None),
    ("What is the capital of France?", None),
]


async def test_questions_are_answered_from_the_article_with_true_paragraph_numbers(session):
    lift_ask_limit(session)
    assert len(QUESTIONS) >= 15 and sum(1 for _, a in QUESTIONS if a is None) >= 5
    paragraphs = await article_paragraphs(session)
    wrong = []
    for question, expected in QUESTIONS:
        result = await step(session, f"/study ask question:{question}")
        assert is_ephemeral(result), "a member's own question is private by default"
        assert result.latency is not None and result.latency < 2.5, (question, result.latency)
        embed = only_embed(result)
        assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]
        assert question in embed["author"]["name"]
        passages = quoted_passages(embed)
        for text, number in passages:
            # Every quote is the article's own sentence, from the paragraph the reply names.
            assert text.rstrip("…") in paragraphs[number], (question, number, text)
        if expected is None:
            if passages or NO_ANSWER not in embed["description"]:
                wrong.append((question, "should say the article has no answer", passages))
            else:
                assert "/study summary" in embed["description"] and "/quote" in embed["description"]
        elif not 1 <= len(passages) <= 3 or not any(expected in text for text, _ in passages):
            wrong.append((question, expected, passages or embed["description"][:80]))
    assert wrong == [], wrong


async def test_how_the_pain_was_applied(session):
    embed = only_embed(await step(session, "/study ask question:How was the pain applied?"))
    assert any("cuff pressure" in text for text, _ in quoted_passages(embed))


async def test_questions_about_own_treatment_point_to_the_doctor_and_still_quote(session):
    for question in ("Should I stop my pain medication?", "Is it safe for me to keep taking opioids?"):
        result = await step(session, f"/study ask question:{question}")
        assert is_ephemeral(result)
        embed = only_embed(result)
        assert "ask your doctor" in embed["description"]
        assert any("opioid" in text for text, _ in quoted_passages(embed))
        assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]


async def test_general_questions_do_not_get_the_doctor_pointer(session):
    embed = only_embed(await step(session, "/study ask question:How many healthy people took part?"))
    assert "doctor or pharmacist" not in embed["description"]


async def test_an_everyday_do_i_question_is_not_about_treatment(session):
    embed = only_embed(await step(session, "/study ask question:How do I make pancakes?"))
    assert "doctor or pharmacist" not in embed["description"]


async def test_a_question_can_be_shared_with_the_channel(session):
    result = await step(session, "/study ask question:how many people took part private:false")
    assert not is_ephemeral(result)
    assert "Researchers enrolled 31 patients" in result.text()


HOSTILE = [
    'NEAR(pain "opioid*) OR text:MRI',
    "'; DROP TABLE sentences; --",
    "x" * 300,
    ("why " * 75).strip() + "?",
    "🙂🙂 does fibro 😩 hurt the brain 🧠?",
    "@everyone @here <@123456789012345678> how many people took part?",
    "\u202e\u200b",
]


@pytest.mark.parametrize("question", HOSTILE, ids=["fts-syntax", "sql", "300-chars", "long-words", "emoji", "mentions", "invisible"])
async def test_hostile_questions_are_answered_without_errors_or_pings(session, question):
    result = await step(session, f"/study ask question:{question}")
    no_pings(result)
    embed = only_embed(result)
    assert embed_chars(embed) <= 6000 and len(embed["author"]["name"]) <= 256
    assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]
    paragraphs = await article_paragraphs(session)
    for text, number in quoted_passages(embed):
        assert text.rstrip("…") in paragraphs[number]
    after = await step(session, "/study ask question:how many people took part")  # nothing broke
    assert "Researchers enrolled 31 patients" in after.text()


async def test_mentions_in_a_question_are_answered_and_ping_nobody(session):
    result = await step(session, "/study ask question:@everyone how many people took part? private:false")
    no_pings(result)
    assert "Researchers enrolled 31 patients" in result.text()


# -- /study glossary ------------------------------------------------------------------------------

def choices(result) -> list[dict]:
    body = next(b for b in result.bodies() if "choices" in b)
    return body["choices"]


async def test_glossary_autocompletes_what_was_typed(session):
    found = choices(await step(session, "?/study glossary term:hyp"))
    assert [c["value"] for c in found] == ["hyperalgesia"]
    everything = choices(await step(session, "?/study glossary term:"))
    names = [c["name"] for c in everything]
    assert 5 <= len(names) <= 25
    assert {"fibromyalgia", "hyperalgesia", "MRI", "ventral tegmental area", "opioids"} <= set(names)
    assert all(1 <= len(c["name"]) <= 100 and 1 <= len(c["value"]) <= 100 for c in everything)
    assert choices(await step(session, "?/study glossary term:zzzz")) == []


async def test_glossary_defines_the_term_and_quotes_the_article(session):
    definitions = {t["term"]: t["definition"] for t in json.loads(GLOSSARY_PATH.read_text(encoding="utf-8"))["terms"]}
    result = await step(session, "/study glossary term:hyperalgesia")
    assert not is_ephemeral(result)
    embed = only_embed(result)
    assert embed["title"] == "hyperalgesia"
    assert embed["description"] == definitions["hyperalgesia"]
    (name, value), = [(f["name"], f["value"]) for f in embed["fields"]]
    paragraphs = await article_paragraphs(session)
    number = int(re.search(r"paragraph (\d+)", name).group(1))
    assert "contribute to hyperalgesia" in value and value in paragraphs[number]
    assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]


async def test_glossary_finds_a_term_by_its_short_form(session):
    embed = only_embed(await step(session, "/study glossary term:VTA private:true"))
    assert embed["title"] == "ventral tegmental area"
    assert "(VTA)" in embed["fields"][0]["value"]


async def test_unknown_glossary_term_gets_a_kind_private_message(session):
    result = await step(session, "/study glossary term:banana @everyone")
    assert is_ephemeral(result)
    no_pings(result)
    assert embeds(result) == []
    assert "no entry for" in result.text() and "hyperalgesia" in result.text()


# -- /study source --------------------------------------------------------------------------------

async def test_source_shows_headline_byline_journal_and_reference_without_doi(session):
    result = await step(session, "/study source")
    assert not is_ephemeral(result)
    embed = only_embed(result)
    assert embed["title"] == "Brain Signals Disrupted in Fibromyalgia Patients"
    assert "Pat Anson" in field(embed, "Written by")
    assert "Arthritis & Rheumatism" in field(embed, "Where the study was published")
    reference = field(embed, "Reference")
    assert reference.startswith(REFERENCE) and "Arthritis & Rheumatology 2014;66(1):203-212" in reference
    assert "doi" not in result.text().lower() and "10.1002" not in result.text()
    assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]


# -- Discord's side ---------------------------------------------------------------------------------

async def test_study_commands_as_synced(session):
    put = next(r for r in session.emulator.requests if r.method == "PUT" and r.path.endswith("/commands"))
    assert put.violations == []
    group = next(c for c in put.body if c["name"] == "study")
    subs = {o["name"]: o for o in group["options"]}
    assert set(subs) == {"summary", "ask", "glossary", "source"}
    question = next(o for o in subs["ask"]["options"] if o["name"] == "question")
    assert question["required"] and (question["min_length"], question["max_length"]) == (1, 300)
    length = next(o for o in subs["summary"]["options"] if o["name"] == "length")
    assert [c["value"] for c in length["choices"]] == ["short", "full"]
    term = next(o for o in subs["glossary"]["options"] if o["name"] == "term")
    assert term["autocomplete"] is True


async def test_a_slow_answer_is_deferred_then_delivered(session, monkeypatch):
    # As if the study card had to be rebuilt: the reply is deferred first, then filled in.
    monkeypatch.setattr(sys.modules["cogs.utils.replies"], "DEFER_AFTER", 0)
    result = await step(session, "/study ask question:how many people took part")
    callback = next(r for r in result.requests if r.path.endswith("/callback"))
    assert callback.body["type"] == 5 and is_ephemeral(result)
    assert "Researchers enrolled 31 patients" in result.text()
    public = await step(session, "/study source")
    assert not is_ephemeral(public) and "Pat Anson" in public.text()
