"""Turning the card into embed-sized text parts (`RenderedCard`): the short and the full summary,
with glosses for hard words and the study's reference."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from bot.safety import NOT_MEDICAL_ADVICE
from bot.study.model import (
    EMBED_DESCRIPTION,
    EMBED_FIELDS,
    EMBED_FOOTER,
    EMBED_TITLE,
    EMBED_TOTAL,
    FIELD_NAME,
    FIELD_VALUE,
    SHORT_TARGET,
    CardItem,
    RenderedCard,
    StudyCard,
)
from bot.study.plain import plain_method
from bot.study.terms import glossary_terms
from bot.text import fold, trim_to


_FUNCTION_WORDS = frozenset("""
a an the of and or to in on at by for with from as is are was were be that which who this these those it its
too also here there now then only even still again very much more less not
""".split())


def _described_words(rest: str) -> int:
    """How far the nouns that a term describes run after it ("opioid| pain medication.": up to two
    words, not past punctuation, a function word or a verb-like word ("basis| underlying"))."""
    end = 0
    for n, m in enumerate(re.finditer(r"\s+([a-z][a-z-]*)|\S", rest)):
        word = m.group(1)
        if n >= 2 or word is None or word in _FUNCTION_WORDS or re.search(r"(?:ing|ed|ly)$", word):
            break
        end = m.end()
    return end


def add_glosses(texts: Sequence[str], skip: Iterable[str] = ()) -> list[str]:
    """Give each glossary term that has a gloss a short explanation in brackets, the first time it
    appears across `texts` (in order). "ventral tegmental area (VTA)" becomes
    "ventral tegmental area (VTA, <gloss>)"; a plain term gets " (<gloss>)" after it."""
    done = set(skip)
    out = []
    for text in texts:
        hits = []
        for term in glossary_terms():
            if not term.gloss or term.term in done:
                continue
            m = term.pattern.search(text)
            if m:
                hits.append((m.start(), m.end(), term))
        taken: list[tuple[int, int]] = []
        inserts = []
        for start, end, term in sorted(hits, key=lambda h: h[0]):
            if any(s <= start < e or s < end <= e for s, e in taken):
                continue
            taken.append((start, end))
            done.add(term.term)
            abbrev = re.match(r"\s*\(([A-Za-z]{2,6})\)", text[end:])
            if abbrev:
                close = end + abbrev.end() - 1
                inserts.append((close, f", {term.gloss}"))
            else:
                # After the words the term describes: "opioid pain medication (strong painkillers
                # such as morphine)", not "opioid (...) pain medication".
                inserts.append((end + _described_words(text[end:]), f" ({term.gloss})"))
        for at, piece in sorted(inserts, reverse=True):
            text = text[:at] + piece + text[at:]
        out.append(text)
    return out


def _say(item: CardItem) -> str:
    return f"“{item.text}”" if item.quoted else item.text


def _join(items: Sequence[CardItem]) -> str:
    return " ".join(_say(i) for i in sorted(items, key=lambda i: i.position))


def reference_line(ref: dict, short: bool = False) -> str:
    """"Loggia ML, Berna C, Kim J, et al. Title. Journal 2014;66(1):203-212." (no DOI unless given)."""
    authors = list(ref.get("authors") or [])
    if short or len(authors) > 3:
        who = f"{authors[0]} et al." if short and authors else ", ".join(authors[:3]) + ", et al."
    else:
        who = ", ".join(authors) + "."
    where = f"{ref.get('journal', '')} {ref.get('year', '')}".strip()
    if ref.get("volume"):
        where += f";{ref['volume']}"
        if ref.get("issue"):
            where += f"({ref['issue']})"
        if ref.get("pages"):
            where += f":{ref['pages']}"
    parts = [who] if authors else []
    if not short and ref.get("title"):
        parts.append(ref["title"].rstrip(".") + ".")
    parts.append(where + ".")
    if ref.get("doi"):
        parts.append(f"doi:{ref['doi']}")
    return " ".join(p for p in parts if p)


def reference_matches(ref: dict, card: StudyCard) -> bool:
    """A reference file applies only when the article names its lead author or its journal."""
    names = [ref.get("journal", "")] + list(ref.get("journal_former_names") or [])
    if card.journal and any(fold(card.journal) == fold(n) for n in names if n):
        return True
    first = (ref.get("authors") or [""])[0].split(" ")[0]
    return bool(first and card.lead_author and first.lower() in card.lead_author.lower())


def _published_line(card: StudyCard, ref: dict | None, with_team: bool = True) -> str:
    """Where the study appeared, in the article's words, with today's journal name when the
    verified reference says the article used a former one."""
    if card.journal:
        named = "journal" in card.journal.lower() or not with_team
        line = card.journal if named else f"The journal {card.journal}"
        if ref and fold(ref.get("journal", "")) != fold(card.journal):
            former = [fold(n) for n in ref.get("journal_former_names") or []]
            now = "now" if fold(card.journal) in former else "in the reference:"
            line += f", as the article names it ({now} {ref['journal']})"
        line += "."
    elif ref:
        line = f"The article does not name the journal; the reference gives {ref.get('journal')}."
    else:
        line = "The article does not name the journal."
    team = []
    if with_team and card.institutions:
        places = [f"the {n}" if re.match(r"(?:University|Institute|College|School) of\b", n) else n for n in card.institutions]
        team.append("Researchers from " + _and_list(places) + (f" in {card.city}" if card.city else ""))
    if with_team and card.lead_author:
        team.append(f"lead author {card.lead_author}")
    if team:
        line += " " + "; ".join(team) + "."
    elif with_team and _is_study(card):
        line += " Who led it, and where: not stated in the article."
    return line


def in_brief(card: StudyCard) -> str:
    """One line on what an article reports, from its card's facts: who took part, how, where it was
    published; for an article that reports no study, its opening sentence."""
    if not card.participants:
        return f"In brief: {_say(card.lede)}" if card.lede else ""
    line = f"A study of {_and_list([g.phrase() for g in card.participants])}"
    context = [card.participants_item] if card.participants_item else []
    method = plain_method(card.method, card.findings, context)[:1]
    if card.journal:
        line += f", published in {card.journal if 'journal' in card.journal.lower() else 'the journal ' + card.journal}"
    line += "."
    return line + (f" {method[0].text}" if method else "")


def _and_list(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _footer(card: StudyCard, ref: dict | None, short: bool) -> str:
    if ref:
        source = "Source: " + reference_line(ref, short=short)
    elif card.journal:
        source = f"Source: {card.journal}, as named in the article."
    else:
        source = f"Source: the article “{card.headline}”."
    # Every study reply ends with the not-medical-advice note: the source line comes before it.
    return f"{source}\n{NOT_MEDICAL_ADVICE}"


def _limit(text: str, n: int) -> str:
    return trim_to(text, n)


@dataclass
class _Plan:
    """How much of each part the card shows; the short card gives parts up until it fits."""
    question: bool
    method: int
    findings: int
    interpretation: int
    limitations: int
    team: bool


def render_card(card: StudyCard, length: str = "short", reference: dict | None = None) -> RenderedCard:
    """The card as plain text parts. "short" aims at SHORT_TARGET characters in all (never more than
    SHORT_LIMIT with every required part kept); "full" fits one
    embed (title 256, description 4096, 25 fields of 256/1024, 6000 in all)."""
    short = length != "full"
    ref = reference if reference and reference_matches(reference, card) else None
    if short:
        plan = _Plan(question=True, method=2, findings=2, interpretation=1, limitations=3, team=True)
        # Give up the least needed part first, one step at a time, until the card fits.
        steps = [("question", False), ("method", 1), ("team", False), ("interpretation", 0),
                 ("limitations", 2), ("findings", 1), ("limitations", 1)]
        budget = SHORT_TARGET
    else:
        plan = _Plan(question=True, method=3, findings=3, interpretation=4, limitations=len(card.limitations), team=True)
        steps = [("interpretation", 2), ("method", 2), ("findings", 2), ("interpretation", 1)]
        budget = EMBED_TOTAL
    rendered = _render(card, ref, plan, short)
    for name, value in steps:
        if rendered.total_chars() <= budget:
            break
        setattr(plan, name, value)
        rendered = _render(card, ref, plan, short)
    return rendered


# What a card says where its article is silent: never a fact of another article, never a guess.
NOT_STATED = "Not stated in the article."


def _is_study(card: StudyCard) -> bool:
    """The article reports a study: it names people taking part, a procedure, a finding or a journal."""
    return bool(card.participants or card.participants_item or card.method or card.findings or card.journal)


def _render(card: StudyCard, ref: dict | None, plan: _Plan, short: bool) -> RenderedCard:
    sections: list[tuple[str, str]] = []
    silent = _is_study(card)  # an article that reports no study gets no list of what it leaves out
    if card.participants:
        sections.append(("Who took part", _and_list([g.phrase() for g in card.participants]) + "."))
    elif card.participants_item:
        sections.append(("Who took part", _say(card.participants_item)))
    elif silent:
        sections.append(("Who took part", NOT_STATED))
    if not card.method and silent and not short:
        sections.append(("How it was done", NOT_STATED))
    if card.method and plan.method:
        # In plain words built from the article's details, in the order the article tells them (a
        # news story names the main procedure before its details: the first are kept when room is short).
        context = [card.participants_item] if card.participants_item else []
        plain = plain_method(card.method, card.findings, context)[:plan.method]
        sections.append(("How it was done", " ".join(line.text for line in plain)))
    if card.findings and plan.findings:
        sections.append(("What it found", _join(card.findings[:plan.findings])))
    elif not card.findings and silent:
        sections.append(("What it found", NOT_STATED))
    if card.interpretation and plan.interpretation:
        name = "The researchers' interpretation" if short else "What the researchers think it may mean (their interpretation)"
        sections.append((name, _join(card.interpretation[:plan.interpretation])))
    if card.limitations and plan.limitations:
        sections.append(("What it cannot tell us", " ".join(card.limitations[:plan.limitations])))
    elif not card.limitations and silent and not short:
        sections.append(("What it cannot tell us", NOT_STATED))
    if not short and card.future:
        sections.append(("What comes next, in the researchers' words", _join(card.future)))
    sections.append(("Where it was published", _published_line(card, ref, with_team=plan.team)))
    if plan.question and card.question:
        question = "The question: " + _say(card.question)
    elif not card.findings and card.lede:
        question = "In brief: " + _say(card.lede)   # not a study report: say what the article opens with
    else:
        question = ""
    glossed = add_glosses([question] + [v for _, v in sections])
    fields = [(_limit(name, FIELD_NAME), _limit(v, FIELD_VALUE)) for (name, _), v in zip(sections, glossed[1:])]
    return RenderedCard(
        title=_limit(card.headline, EMBED_TITLE),
        description=_limit(glossed[0], EMBED_DESCRIPTION),
        fields=fields[:EMBED_FIELDS],
        footer=_limit(_footer(card, ref, short), EMBED_FOOTER),
    )
