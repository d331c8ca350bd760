"""The study behind an article: a plain-language card, answers to members' questions, a glossary.

Everything shown comes from the article itself (chosen and trimmed sentences) or is built from facts
pulled out of it by rules (counts of people, the journal, the institution, the lead author), plus the
study's verified reference when a file beside the article holds one. The rules are written for the
usual form of a health news story about a study, not for one article.

Work is split by cost:
- `prepare_study` (CPU only, run off the event loop when an article is loaded) splits the body into
  sentences, ranks them with TextRank and builds the card; `store_study` writes both in the loading
  transaction.
- `ask`, `glossary_choices`, `glossary_entry`, `source` and `study_summary` only read: one or two
  small queries and work already done, cached per article. They use the most recently loaded
  article unless given an `article_id`. `render_answer`, `render_glossary` and `render_source` turn
  their results into embed-sized text parts (`RenderedCard`), each with the not-medical-advice note.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import sqlite3
import weakref
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

from rapidfuzz import fuzz, process

from bot.config import DATA_DIR
from bot.errors import UserFacingError
from bot.safety import NOT_MEDICAL_ADVICE
from bot.text import (
    STOPWORDS, content_words, fold, light_stem, number_value, sentence_spans, trim_to, words,
)

log = logging.getLogger(__name__)

# Bump when the card's shape or the rules change: stored cards of an older version are rebuilt.
CARD_VERSION = 1
GLOSSARY_PATH = Path(__file__).resolve().parent / "resources" / "glossary.json"
SHORT_LIMIT = 1200          # every character of the short card: title, description, fields, footer
# The short card aims lower than its limit, so that a longer headline or reference still fits.
SHORT_TARGET = 1150
EMBED_TOTAL = 6000
EMBED_TITLE, EMBED_DESCRIPTION, EMBED_FIELDS = 256, 4096, 25
FIELD_NAME, FIELD_VALUE, EMBED_FOOTER = 256, 1024, 2048


# ---------------------------------------------------------------------------------------------
# Plain data returned to callers
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sentence:
    position: int        # 1-based over the whole article body
    paragraph: int       # 1-based paragraph number, as stored in `paragraphs.position`
    in_paragraph: int    # 1-based within the paragraph
    text: str


@dataclass(frozen=True)
class ParticipantGroup:
    count: int
    label: str           # as the article words it: "patients with fibromyalgia", "healthy participants"
    healthy: bool        # a comparison group of people without the condition

    def phrase(self) -> str:
        return f"{self.count} {self.label}"


@dataclass(frozen=True)
class CardItem:
    """One of the article's sentences chosen for the card, trimmed for reading."""
    paragraph: int
    position: int
    text: str
    quoted: bool = False  # the researchers' own words in the article


@dataclass
class StudyCard:
    version: int
    headline: str
    byline: str | None
    question: CardItem | None
    participants: list[ParticipantGroup]
    participants_item: CardItem | None
    condition: str | None
    method: list[CardItem]
    findings: list[CardItem]
    interpretation: list[CardItem]
    future: list[CardItem]
    background: list[CardItem]
    limitations: list[str]            # most important first; built from facts in the text
    journal: str | None               # as the article names it
    journal_item: CardItem | None
    institutions: list[str]
    city: str | None
    lead_author: str | None           # "Dr. Marco Loggia"
    terms: dict[str, int] = field(default_factory=dict)  # glossary term -> first sentence position
    lede: CardItem | None = None      # the opening sentence, shown when nothing else describes the study

    @property
    def total_participants(self) -> int:
        return sum(g.count for g in self.participants)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> "StudyCard":
        d = json.loads(raw)

        def item(x: dict | None) -> CardItem | None:
            return CardItem(**x) if x else None

        return cls(
            version=d["version"], headline=d["headline"], byline=d["byline"],
            question=item(d["question"]),
            participants=[ParticipantGroup(**g) for g in d["participants"]],
            participants_item=item(d["participants_item"]), condition=d["condition"],
            method=[CardItem(**x) for x in d["method"]],
            findings=[CardItem(**x) for x in d["findings"]],
            interpretation=[CardItem(**x) for x in d["interpretation"]],
            future=[CardItem(**x) for x in d["future"]],
            background=[CardItem(**x) for x in d["background"]],
            limitations=list(d["limitations"]), journal=d["journal"],
            journal_item=item(d["journal_item"]), institutions=list(d["institutions"]),
            city=d["city"], lead_author=d["lead_author"], terms=dict(d.get("terms", {})),
            lede=item(d.get("lede")),
        )


@dataclass(frozen=True)
class RenderedCard:
    """An embed's worth of text, as plain data: the cog turns it into a discord.Embed."""
    title: str
    description: str
    fields: list[tuple[str, str]]
    footer: str

    def total_chars(self) -> int:
        return (len(self.title) + len(self.description) + len(self.footer)
                + sum(len(n) + len(v) for n, v in self.fields))

    def as_text(self) -> str:
        parts = [self.title, self.description] + [f"{n}: {v}" for n, v in self.fields] + [self.footer]
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Passage:
    paragraph: int
    sentence: int        # position over the whole article body
    in_paragraph: int
    text: str
    best: bool = False   # the sentence that answered best; the others give its context


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    passages: list[Passage]          # in reading order; empty when not found
    personal_medical: bool           # about the member's own treatment: point them to their doctor
    article_title: str

    @property
    def best(self) -> Passage | None:
        return next((p for p in self.passages if p.best), None)


@dataclass(frozen=True)
class GlossaryEntry:
    term: str
    definition: str
    sentence: str | None     # the article sentence where the term first appears
    paragraph: int | None


@dataclass(frozen=True)
class SourceInfo:
    headline: str
    byline: str | None
    journal_as_named: str | None
    journal_sentence: str | None
    journal_paragraph: int | None
    institutions: list[str]
    city: str | None
    lead_author: str | None
    published_line: str              # what the article says about where the study appeared
    reference: dict | None           # the verified record, when a file beside the article has one
    reference_line: str | None


@dataclass
class PreparedStudy:
    sentences: list[Sentence]
    card: StudyCard


# ---------------------------------------------------------------------------------------------
# Sentences and TextRank
# ---------------------------------------------------------------------------------------------

def article_sentences(paragraphs: Sequence[str]) -> list[Sentence]:
    out: list[Sentence] = []
    for p_no, para in enumerate(paragraphs, start=1):
        for k, (s, e) in enumerate(sentence_spans(para), start=1):
            out.append(Sentence(position=len(out) + 1, paragraph=p_no, in_paragraph=k, text=para[s:e]))
    return out


def _stems(text: str) -> set[str]:
    return {light_stem(w) for w in content_words(text) if len(w) > 1 and not w.isdigit()}


def textrank(token_sets: Sequence[set[str]], damping: float = 0.85, iterations: int = 60) -> list[float]:
    """Centrality of each sentence: PageRank over a graph whose edges weigh shared words.

    Edge weight is the overlap of the two word sets divided by the log of their sizes, so long
    sentences do not win only by being long. Scores are scaled so that the most central is 1.
    """
    n = len(token_sets)
    if n == 0:
        return []
    weights = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            common = len(token_sets[i] & token_sets[j])
            if common:
                w = common / (math.log(1 + len(token_sets[i])) + math.log(1 + len(token_sets[j])))
                weights[i][j] = weights[j][i] = w
    out_sum = [sum(row) for row in weights]
    scores = [1.0 / n] * n
    for _ in range(iterations):
        new = []
        for i in range(n):
            inflow = sum(weights[j][i] / out_sum[j] * scores[j] for j in range(n) if weights[j][i])
            new.append((1 - damping) / n + damping * inflow)
        done = max(abs(a - b) for a, b in zip(new, scores)) < 1e-9
        scores = new
        if done:
            break
    top = max(scores) or 1.0
    return [s / top for s in scores]


# ---------------------------------------------------------------------------------------------
# Rules that find the study's facts in a news article
# ---------------------------------------------------------------------------------------------

_NUM_WORD = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four|five|six|seven|"
             r"eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
             r"fifteen|sixteen|seventeen|eighteen|nineteen)")
NUMBER = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+|{_NUM_WORD})"
PEOPLE = (r"(?:patients|participants|people|persons|subjects|volunteers|adults|women|men|children|adolescents|"
          r"teenagers|individuals|veterans|controls|sufferers|students|employees|workers|athletes|seniors|"
          r"residents|infants|mothers|fathers|twins|survivors|smokers)")
_GROUP = re.compile(
    rf"(?<![\w.,])(?P<n>{NUMBER})\s+(?P<adj>(?:[A-Za-z][\w'’-]*\s+){{0,3}}?)(?P<noun>{PEOPLE})\b"
    rf"(?P<rest>\s+(?:with|without|who (?:have|had|live with))\s+[^,;.]+?)?"
    rf"(?=\s+and\s+{NUMBER}\b|\s*[,;.:)]|\s+(?:took|were|was|who|from|at|in|to|for|during|aged|had|completed|"
    rf"enrolled|joined|participated|received|underwent|all|each)\b|$)",
    re.I,
)
_RECRUIT = re.compile(
    r"\b(?:enroll?(?:ed|s)?|recruit(?:ed|s)?|included|studied|took part|participated|involv(?:ed|ing)|compared|"
    r"examined|scanned|tested|assigned|randomi[sz]ed|followed|surveyed|analy[sz]ed|signed up)\b", re.I)
_HEALTHY = re.compile(r"\b(?:healthy|pain[- ]free|controls?|without|unaffected|typical)\b", re.I)
_NOT_GROUP_WORDS = {"million", "millions", "thousand", "thousands", "billion", "percent", "of", "the", "in", "per"}

_CAP = r"[A-Z][\w'’\-]*"
_NAME_RUN = rf"{_CAP}(?:\s+(?:&|and|of|for|the|{_CAP}))*"
_JOURNAL_PATTERNS = (
    re.compile(rf"\b(?:in|the)\s+(?:the\s+)?journal,?\s+(?P<j>{_NAME_RUN})"),
    re.compile(rf"\b(?:published|appears?|appeared|reported|described|printed)\s+(?:online\s+|today\s+|this week\s+)?"
               rf"in\s+(?:the\s+)?(?P<j>{_NAME_RUN})"),
    re.compile(rf"(?P<j>(?:{_CAP}\s+)*Journal\s+of\s+{_NAME_RUN})"),
)
_INSTITUTION_WORD = r"(?:University|Hospital|School|Institute|College|Clinic|Center|Centre|Foundation|Laborator(?:y|ies)|Infirmary)"
# A run of capitalised words (joined by "of", "for", "the", "&") holding an institution word:
# "Massachusetts General Hospital", "Cascade University School of Medicine", "University of Eastvale".
_INSTITUTION = re.compile(
    rf"{_CAP}(?:\s+(?:(?:of|for|of the|&)\s+)?{_CAP})*"
)
_INSTITUTION_KEY = re.compile(rf"\b{_INSTITUTION_WORD}\b")
_LEADING_FUNCTION_WORD = re.compile(r"^(?:The|In|At|From|By|A|An|And|Researchers|Scientists)\s+")
_CITY_AFTER = re.compile(r"^\s*(?:,\s*|\s+in\s+)(?P<city>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b")
_PERSON = r"[A-Z][a-z'’\-]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’\-]+){1,2}"
_TITLE = r"(?P<t>Dr\.?|Prof\.?|Professor)\s+"
_LEAD_PATTERNS = (
    re.compile(rf"\b(?:lead|senior|first|principal|corresponding)\s+(?:author|researcher|investigator|scientist)s?,?\s+"
               rf"(?:{_TITLE})?(?P<name>{_PERSON})"),
    re.compile(rf"(?:{_TITLE})?(?P<name>{_PERSON}),\s+(?:the\s+|a\s+)?(?:study[’']s\s+|paper[’']s\s+)?"
               rf"(?:lead|senior|first|principal)\s+(?:author|researcher|investigator)"),
    re.compile(rf"\bled by\s+(?:{_TITLE})?(?P<name>{_PERSON})"),
)
_SIZE = re.compile(r"\b(?P<w>small|pilot|preliminary|tiny|exploratory|feasibility)\s+(?:study|trial|experiment)\b", re.I)
_SCANNER = re.compile(r"\b(?:MRI|fMRI|PET|scan(?:s|ned|ner)?|magnetic resonance|imaging)\b", re.I)
_FOLLOW_UP = re.compile(
    rf"\b(?:follow(?:ed)?[- ]up|followed (?:for|over)|(?:over|for|after) (?:{NUMBER}|several|many) (?:days|weeks|months|years)"
    rf"|repeated|twice|before and after|longitudinal|(?:each|every|a) (?:week|month)|sessions a week)\b", re.I)
_STIMULUS = re.compile(r"\b(?P<s>(?:[a-z-]+\s+){1,3}(?:stimulation|stimuli|stimulus))\b", re.I)
_GENERAL_TREATMENT = re.compile(r"(?:treatments?|therapy|therapies|medications?|medicines?|drugs?)", re.I)
_TREATMENT = re.compile(
    r"\b(?:opioids?|opiates?|painkillers?|analgesics?|antidepressants?|morphine|medications?|medicines?|drugs?|"
    r"treatments?|therapy|therapies|exercise|surgery|injections?)\b", re.I)

# How a sentence reads: these cues decide what part of the card it can fill.
_HEDGE = re.compile(
    r"\b(?:may|might|could|suggests?|suggested|suggesting|possibl[ey]|perhaps|likely|appears? to|seems? to|"
    r"explain\w*|explanation|indicates?|implies|believes?|believed|think|thinks|hypothes\w+|speculat\w+)\b", re.I)
_FINDING = re.compile(
    r"\b(?:show(?:ed|s|n)?|found|revealed?|displayed|demonstrat\w+|reported|had (?:a |an )?(?:less|more|lower|higher|"
    r"weaker|stronger|greater|smaller|bigger)|(?:significantly\s+)?(?:reduced|increased|decreased|improved|inhibited|"
    r"deactivated|activated)|did not change|no difference|differ(?:ed|ence|ent)|compared with)\b", re.I)
_METHOD = re.compile(
    r"\b(?:MRI|fMRI|scan\w*|imag(?:e|es|ing)|stimulation|stimul\w+|cuff|pressure|heat(?:ed)?|probe|questionnaires?|"
    r"measured|measure|randomi[sz]ed|placebo|cues?|tasks?|underwent|performed|received|attended|sessions?|assigned|"
    r"tested|test|recorded|samples?|interview\w*|wore|monitors?|rated|diar(?:y|ies)|tracked)\b", re.I)
_AIM = re.compile(
    r"\b(?:examines?|examined|investigat(?:e|es|ed|ing)|looked at|set out|aim(?:s|ed)? to|sought to|"
    r"wanted to (?:know|see|find out|learn|test)|whether|tested whether)\b", re.I)
_FUTURE = re.compile(
    r"\b(?:future (?:studies|research|work|trials)|further research|more research|larger (?:studies|trials)|"
    r"are needed|is needed|should further)\b", re.I)
_BACKGROUND = re.compile(
    r"\b(?:estimates?|estimated|according to (?:the )?(?:national|surveys?|statistics|data)|millions?|percent|"
    r"one in (?:two|three|four|five|six|ten)|no known cure)\b|%", re.I)
_DEFINES = re.compile(r"(?:,|—|–|\s-)\s+(?:a|an)\s+\w+|\b(?:is|are) (?:a|an|the) \w+|\((?:a|an) ", re.I)
_REFERS_BACK = re.compile(r"\b(?:this|that|these|those|it)\b(?!\s+(?:study|trial|research|question)\b)", re.I)
_CONTRAST = re.compile(r"\b(?:however|whereas|while|unlike|in contrast|compared (?:with|to)|than)\b", re.I)
_NUMBERISH = re.compile(rf"\b{NUMBER}\b", re.I)


def _find_groups(text: str) -> list[ParticipantGroup]:
    groups = []
    for m in _GROUP.finditer(text):
        count = number_value(m.group("n"))
        adj_words = m.group("adj").split()
        if count is None or any(w.lower() in _NOT_GROUP_WORDS for w in adj_words):
            continue
        label = " ".join(adj_words + [m.group("noun").lower()]) + (m.group("rest") or "")
        label = re.sub(r"\s+", " ", label).strip()
        groups.append(ParticipantGroup(count=count, label=label, healthy=bool(_HEALTHY.search(label))))
    return groups


def find_participants(sentences: Sequence[Sentence]) -> tuple[list[ParticipantGroup], Sentence | None]:
    """The groups of people a study enrolled, from the first sentence that says who took part."""
    fallback: tuple[list[ParticipantGroup], Sentence | None] = ([], None)
    for s in sentences:
        groups = _find_groups(s.text)
        if not groups:
            continue
        if _RECRUIT.search(s.text) or len(groups) >= 2:
            return groups, s
        if fallback[1] is None:
            fallback = (groups, s)
    return fallback


def _clean_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,.;:")
    while True:
        trimmed = re.sub(r"\s+(?:and|of|for|the|&)$", "", name)
        if trimmed == name:
            return name
        name = trimmed


def find_journal(sentences: Sequence[Sentence]) -> tuple[str | None, Sentence | None]:
    """The journal's name as the article writes it ("published in the journal X", "the Journal of Y")."""
    for pattern in _JOURNAL_PATTERNS:
        for s in sentences:
            for m in pattern.finditer(s.text):
                name = _clean_name(m.group("j"))
                if name.lower().startswith("the "):
                    name = name[4:]
                # One capitalised word after "published in" is as likely a city as a journal.
                if len(name.split()) >= 2 or "journal" in m.group(0).lower():
                    return name, s
    return None, None


def find_lead_author(sentences: Sequence[Sentence]) -> tuple[str | None, Sentence | None]:
    for pattern in _LEAD_PATTERNS:
        for s in sentences:
            m = pattern.search(s.text)
            if m:
                title = m.group("t")
                title = (title.rstrip(".") + ".") if title and title.lower() != "professor" else title
                name = m.group("name")
                return (f"{title} {name}" if title else name), s
    return None, None


def find_institutions(sentences: Sequence[Sentence], lead_sentence: Sentence | None) -> tuple[list[str], str | None]:
    """Where the research team works: named with the lead author, else with "researchers at/from"."""
    def in_sentence(s: Sentence) -> tuple[list[str], str | None]:
        names, city = [], None
        for m in _INSTITUTION.finditer(s.text):
            if not _INSTITUTION_KEY.search(m.group()):
                continue
            name = m.group()
            while _LEADING_FUNCTION_WORD.match(name):
                name = _LEADING_FUNCTION_WORD.sub("", name, count=1)
            name = _clean_name(name)
            if name not in names:
                names.append(name)
            after = _CITY_AFTER.match(s.text[m.end():])
            if after and not re.search(_INSTITUTION_WORD, after.group("city")):
                city = after.group("city")
        return names, city

    ordered = ([lead_sentence] if lead_sentence else []) + [
        s for s in sentences if re.search(r"\b(?:researchers|team|scientists|investigators)\s+(?:at|from)\b", s.text)
    ] + [s for s in sentences if not _BACKGROUND.search(s.text)]
    for s in ordered:
        names, city = in_sentence(s)
        if names:
            return names, city
    return [], None


def _quote_flags(paragraphs: Sequence[str], sentences: Sequence[Sentence]) -> dict[int, bool]:
    """Which sentences are (or open with) someone's quoted words."""
    flags: dict[int, bool] = {}
    by_para: dict[int, list[Sentence]] = {}
    for s in sentences:
        by_para.setdefault(s.paragraph, []).append(s)
    for p_no, items in by_para.items():
        inside = False
        for s in items:
            starts_quote = s.text.lstrip()[:1] in "“\"‘"
            flags[s.position] = inside or starts_quote
            for ch in s.text:
                if ch == "“":
                    inside = True
                elif ch == "”":
                    inside = False
                elif ch == '"':
                    inside = not inside
    return flags


def _role(text: str) -> str:
    if _FUTURE.search(text):
        return "future"
    if _BACKGROUND.search(text) and not _FINDING.search(text):
        return "background"
    if _AIM.search(text) and not _HEDGE.search(text):
        return "question"
    if _HEDGE.search(text):
        return "interpretation"
    if _FINDING.search(text):
        return "finding"
    if _METHOD.search(text):
        return "method"
    return "context"


_ATTRIBUTION_TAIL = re.compile(
    r"[,.!?]?\s*[”\"]\s*,?\s*(?:said|says|explained|added|noted|according to)\b[^“”\"]*$", re.I)
_DASH_ASIDE = re.compile(r"\s+[—–]\s+[^—–]{8,200}?\s+[—–]\s+")


def tidy(text: str) -> str:
    """Trim a sentence for the card: drop a trailing "…,” said X.", a dash-enclosed aside and the
    quotation marks around the whole of it. Words are never changed or reordered."""
    t = text.strip()
    m = _ATTRIBUTION_TAIL.search(t)
    if m and ("“" in t[: m.start()] or '"' in t[: m.start()]):
        t = t[: m.start()].rstrip(" ,;:") + "."
    t = _DASH_ASIDE.sub(" ", t)
    # Quote marks that open or close the whole sentence (a quote may run over several sentences,
    # so either end can be alone); marks inside the sentence stay.
    if t[:1] in "“\"" and not re.search(r"[”\"]", t[1:-1]):
        t = t[1:]
    if t[-1:] in "”\"" and not re.search(r"[“\"]", t[:-1]):
        t = t[:-1]
    return re.sub(r"\s+", " ", t).strip()


# ---------------------------------------------------------------------------------------------
# Glossary data
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Term:
    term: str
    aliases: tuple[str, ...]
    definition: str
    gloss: str | None
    pattern: re.Pattern
    folded: tuple[str, ...]      # the aliases `fold`ed, longest first, for matching a question


@lru_cache(maxsize=1)
def glossary_terms() -> tuple[_Term, ...]:
    """The glossary the project ships, read once."""
    data = json.loads(GLOSSARY_PATH.read_text(encoding="utf-8"))
    out = []
    for t in data["terms"]:
        aliases = tuple(sorted({t["term"], *t.get("aliases", [])}, key=len, reverse=True))
        alt = "|".join(re.escape(a) for a in aliases)
        out.append(_Term(t["term"], aliases, t["definition"], t.get("gloss"),
                         re.compile(rf"(?<![\w-])(?:{alt})(?![\w-])", re.I), tuple(fold(a) for a in aliases)))
    return tuple(out)


def _terms_used(sentences: Sequence[Sentence]) -> dict[str, int]:
    used: dict[str, int] = {}
    for term in glossary_terms():
        for s in sentences:
            if term.pattern.search(s.text):
                used[term.term] = s.position
                break
    return used


# ---------------------------------------------------------------------------------------------
# Building the card
# ---------------------------------------------------------------------------------------------

def build_card(title: str, byline: str | None, paragraphs: Sequence[str],
               sentences: Sequence[Sentence] | None = None) -> StudyCard:
    """The study card of one article. CPU only: call it off the event loop."""
    sentences = list(sentences) if sentences is not None else article_sentences(paragraphs)
    n = len(sentences)
    centrality = textrank([_stems(s.text) for s in sentences])
    quoted = _quote_flags(paragraphs, sentences)
    roles = {s.position: _role(s.text) for s in sentences}

    groups, enrol = find_participants(sentences)
    journal, journal_sentence = find_journal(sentences)
    lead, lead_sentence = find_lead_author(sentences)
    institutions, city = find_institutions(sentences, lead_sentence)
    if enrol is not None:
        roles[enrol.position] = "participants"
    # The word that names the comparison group ("healthy", "pain-free"), to spot results about it.
    healthy_words = {w.lower() for g in groups if g.healthy for w in g.label.split()[:1]}
    comparison = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(healthy_words))) + r")\b", re.I) if healthy_words else None

    def rank(s: Sentence, role: str) -> float:
        # Central sentences first; earlier ones and ones with figures break near-ties.
        score = 0.6 * centrality[s.position - 1] + 0.25 * (1 - (s.position - 1) / max(n, 1))
        if _NUMBERISH.search(s.text):
            score += 0.1
        if role == "interpretation" and quoted[s.position]:
            score += 0.15   # the researchers' own words state their view most faithfully
        if role == "interpretation" and _TREATMENT.search(s.text):
            score += 0.1    # what it may mean for treatment is what readers ask about
        if role == "finding" and (_CONTRAST.search(s.text) or (comparison and comparison.search(s.text))):
            score += 0.2    # results that set the groups side by side are the heart of a comparison study
        return score

    def pick(role: str, k: int) -> list[CardItem]:
        chosen = sorted((s for s in sentences if roles[s.position] == role),
                        key=lambda s: rank(s, role), reverse=True)[:k]
        return [CardItem(s.paragraph, s.position, tidy(s.text), quoted[s.position]) for s in chosen]

    def as_item(s: Sentence | None) -> CardItem | None:
        return CardItem(s.paragraph, s.position, tidy(s.text), quoted[s.position]) if s else None

    question = pick("question", 1)
    if question and len(question[0].text) < 90 and _REFERS_BACK.search(question[0].text):
        # "We wanted to know whether that is true": the sentence before says what "that" is.
        before = next((s for s in sentences if s.position == question[0].position - 1), None)
        if before is not None and before.paragraph == question[0].paragraph:
            q = question[0]
            question = [CardItem(q.paragraph, before.position, f"{tidy(before.text)} {q.text}", q.quoted)]
    method = pick("method", 3)
    if not method and enrol is not None and _METHOD.search(enrol.text):
        method = [as_item(enrol)]   # "The team studied 120 women, who wore wrist monitors ..."
    findings = pick("finding", 3)
    interpretation = pick("interpretation", 3)
    card = StudyCard(
        version=CARD_VERSION, headline=title, byline=byline,
        question=question[0] if question else None,
        participants=groups, participants_item=as_item(enrol),
        condition=_condition(groups), method=method, findings=findings,
        interpretation=interpretation, future=pick("future", 1), background=pick("background", 2),
        limitations=[], journal=journal, journal_item=as_item(journal_sentence),
        institutions=institutions, city=city, lead_author=lead,
        terms=_terms_used(sentences), lede=as_item(sentences[0]) if sentences else None,
    )
    card.limitations = _limitations(card, title, sentences)
    return card


def _condition(groups: Sequence[ParticipantGroup]) -> str | None:
    for g in groups:
        m = re.search(r"\b(?:with|who have|who had|live with)\s+(?P<c>.+)$", g.label)
        if m and not g.healthy:
            return m.group("c")
    return None


def _limitations(card: StudyCard, title: str, sentences: Sequence[Sentence]) -> list[str]:
    """What the study cannot tell us, each line built from something the text states (or leaves out)."""
    body = " ".join(s.text for s in sentences)
    lines: list[str] = []
    size = _SIZE.search(body) or _SIZE.search(title)
    controls = next((g for g in card.participants if g.healthy), None)
    total = card.total_participants
    who = ""
    if total:
        who = f"{total} people"
        if controls:
            only = "only " if controls.count < 30 else ""
            who += f", {only}{controls.count} of them {controls.label}"
    if size:
        lines.append(f"A {size.group('w').lower()} study, in the article's words" + (f": {who}." if who else "."))
    elif who:
        lines.append(f"{who[0].upper()}{who[1:]} took part.")
    if card.participants and not controls:
        lines.append("The article mentions no comparison group of people without the condition.")

    method_text = " ".join(i.text for i in card.method) + " " + (card.participants_item.text if card.participants_item else "")
    repeated = _FOLLOW_UP.search(body)
    if _SCANNER.search(method_text) and not repeated:
        lines.append("One scan session per person; no follow-up is described.")
    elif not repeated and card.participants:
        lines.append("The article describes no follow-up over time.")

    tested_text = (method_text + " " + " ".join(i.text for i in card.findings)).lower()
    untested: list[str] = []
    for item in card.interpretation:
        for m in _TREATMENT.finditer(item.text):
            word = m.group().lower()
            stem = light_stem(word)
            if _GENERAL_TREATMENT.fullmatch(word):
                continue   # too general to name as a link
            if stem not in {light_stem(w) for w in words(tested_text)} and all(light_stem(u) != stem for u in untested):
                untested.append(word if word.endswith("s") else word + "s")
    if untested:
        lines.append(f"The link to {' and '.join(untested[:2])} is the researchers' interpretation, not a tested result.")

    stimulus = next((m.group("s") for i in card.method for m in [_STIMULUS.search(i.text)] if m), None)
    if stimulus:
        first = stimulus.split()
        while first and first[0].lower() in STOPWORDS:
            first = first[1:]
        lines.append(f"The pain was set off on purpose for the test ({' '.join(first)}).")

    if card.findings and not any(re.search(r"\d|percent|%|times", i.text) for i in card.findings):
        lines.append("The article gives no figures for how large the differences were.")
    return lines


def prepare_study(parsed: Any) -> PreparedStudy:
    """Sentences and card for a parsed article (`bot.article.ParsedArticle`). CPU only."""
    sentences = article_sentences(parsed.paragraphs)
    card = build_card(parsed.title, parsed.byline, parsed.paragraphs, sentences)
    return PreparedStudy(sentences=sentences, card=card)


async def store_study(tx: Any, article_id: int, prepared: PreparedStudy) -> None:
    """Write the sentences and the card inside the caller's loading transaction."""
    await tx.executemany(
        "INSERT INTO sentences(article_id, position, paragraph, in_paragraph, text) VALUES (?, ?, ?, ?, ?)",
        [(article_id, s.position, s.paragraph, s.in_paragraph, s.text) for s in prepared.sentences],
    )
    await tx.execute("UPDATE articles SET card_json = ? WHERE id = ?", (prepared.card.to_json(), article_id))


# ---------------------------------------------------------------------------------------------
# Rendering the card
# ---------------------------------------------------------------------------------------------

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
                inserts.append((end, f" ({term.gloss})"))
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
    return line


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
        plan = _Plan(question=True, method=3, findings=3, interpretation=3, limitations=len(card.limitations), team=True)
        steps = [("interpretation", 2), ("method", 2), ("findings", 2), ("interpretation", 1)]
        budget = EMBED_TOTAL
    rendered = _render(card, ref, plan, short)
    for name, value in steps:
        if rendered.total_chars() <= budget:
            break
        setattr(plan, name, value)
        rendered = _render(card, ref, plan, short)
    return rendered


def _render(card: StudyCard, ref: dict | None, plan: _Plan, short: bool) -> RenderedCard:
    sections: list[tuple[str, str]] = []
    if card.participants:
        sections.append(("Who took part", _and_list([g.phrase() for g in card.participants]) + "."))
    elif card.participants_item:
        sections.append(("Who took part", _say(card.participants_item)))
    if card.method and plan.method:
        # Method sentences read best in the order the article tells them, and a news story
        # names the main procedure before its details: the first ones are kept when room is short.
        chosen = sorted(card.method, key=lambda i: i.position)[:plan.method]
        sections.append(("How it was done", _join(chosen)))
    if card.findings and plan.findings:
        sections.append(("What it found", _join(card.findings[:plan.findings])))
    if card.interpretation and plan.interpretation:
        name = "The researchers' interpretation" if short else "What the researchers think it may mean (their interpretation)"
        sections.append((name, _join(card.interpretation[:plan.interpretation])))
    if card.limitations and plan.limitations:
        sections.append(("What it cannot tell us", " ".join(card.limitations[:plan.limitations])))
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


# ---------------------------------------------------------------------------------------------
# Finding the article and its cached study data
# ---------------------------------------------------------------------------------------------

@dataclass
class _StudyIndex:
    article_id: int
    content_hash: str
    title: str
    byline: str | None
    source_name: str
    card: StudyCard
    sentences: dict[int, Sentence]          # sentence row id -> sentence
    order: list[int]                        # row ids in reading order
    cues: dict[str, set[int]]               # question cue -> sentence row ids that fit it
    vocabulary: frozenset[str]
    first_id: int
    last_id: int
    cue_strength: dict[tuple[str, int], float] = field(default_factory=dict)      # (cue, row id) -> how well it fits
    rendered: dict[tuple[str, str], RenderedCard] = field(default_factory=dict)   # study_summary replies
    # Answers to the questions asked most recently: an answer depends only on the article and the
    # question, and members ask the same few questions again and again.
    answers: "OrderedDict[str, Answer]" = field(default_factory=OrderedDict)

    def remembered_answer(self, question: str) -> "Answer | None":
        answer = self.answers.get(question)
        if answer is not None:
            self.answers.move_to_end(question)
        return answer

    def remember_answer(self, question: str, answer: "Answer") -> None:
        self.answers[question] = answer
        if len(self.answers) > REMEMBERED_ANSWERS:
            self.answers.popitem(last=False)


REMEMBERED_ANSWERS = 512
_CACHE: "weakref.WeakKeyDictionary[Any, dict[tuple[int, str], _StudyIndex]]" = weakref.WeakKeyDictionary()
_LOCKS: "weakref.WeakKeyDictionary[Any, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def _read(db: Any, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Rows of one query in a single trip to the database thread (the commands answered most
    often read through here)."""
    return list(await db.conn.execute_fetchall(sql, tuple(params)))


async def _study_index(db: Any, article_id: int | None = None) -> _StudyIndex:
    if article_id is None:
        rows = await _read(db, "SELECT id, content_hash FROM articles ORDER BY id DESC LIMIT 1")
    else:
        rows = await _read(db, "SELECT id, content_hash FROM articles WHERE id = ?", (article_id,))
    row = rows[0] if rows else None
    if row is None:
        raise UserFacingError("No study article is loaded yet, so there is nothing to read from. "
                              "An admin can load one with `fibrocircle ingest`.")
    key = (row["id"], row["content_hash"])
    per_db = _CACHE.setdefault(db, {})
    index = per_db.get(key)
    if index is None:
        lock = _LOCKS.setdefault(db, asyncio.Lock())
        async with lock:
            index = per_db.get(key)
            if index is None:
                index = await _load_index(db, row["id"], row["content_hash"])
                per_db.clear()   # only the current article is asked about; keep memory flat
                per_db[key] = index
    return index


async def _load_index(db: Any, article_id: int, content_hash: str) -> _StudyIndex:
    art = await db.fetchone("SELECT title, byline, source_name, card_json FROM articles WHERE id = ?", (article_id,))
    rows = await db.fetchall(
        "SELECT id, position, paragraph, in_paragraph, text FROM sentences WHERE article_id = ? ORDER BY position",
        (article_id,))
    card = None
    if art["card_json"]:
        try:
            card = StudyCard.from_json(art["card_json"])
        except (KeyError, TypeError, ValueError):
            card = None
    if card is None or card.version != CARD_VERSION or not rows:
        # Loaded before the study tables existed, or by older rules: rebuild from the paragraphs.
        paras = await db.fetchall("SELECT text FROM paragraphs WHERE article_id = ? ORDER BY position", (article_id,))
        paragraphs = [p["text"] for p in paras]

        def rebuild() -> PreparedStudy:
            sentences = article_sentences(paragraphs)
            return PreparedStudy(sentences, build_card(art["title"], art["byline"], paragraphs, sentences))

        prepared = await asyncio.to_thread(rebuild)
        async with db.transaction() as tx:
            if rows:
                await tx.execute("DELETE FROM sentences WHERE article_id = ?", (article_id,))
            await store_study(tx, article_id, prepared)
        card = prepared.card
        rows = await db.fetchall(
            "SELECT id, position, paragraph, in_paragraph, text FROM sentences WHERE article_id = ? ORDER BY position",
            (article_id,))
    sentences = {r["id"]: Sentence(r["position"], r["paragraph"], r["in_paragraph"], r["text"]) for r in rows}
    order = [r["id"] for r in rows]
    vocabulary = frozenset(w for s in sentences.values() for w in words(fold(s.text)))
    return _StudyIndex(
        article_id=article_id, content_hash=content_hash, title=art["title"], byline=art["byline"],
        source_name=art["source_name"], card=card, sentences=sentences, order=order,
        cues=_sentence_cues(sentences, card), vocabulary=vocabulary, cue_strength=_cue_strength(sentences),
        first_id=min(order) if order else 0, last_id=max(order) if order else -1,
    )


_AUTHOR_CUE = re.compile(r"\b(?:lead author|senior author|led by|said (?:Dr\.?\s+)?[A-Z]|Dr\.\s+[A-Z]|researchers?)\b")
_REASON_CUE = re.compile(r"\b(?:explain\w*|explanation|because|due to|contribute\w*|reason|caus\w+|suggest\w*|may)\b", re.I)


def _sentence_cues(sentences: dict[int, Sentence], card: StudyCard) -> dict[str, set[int]]:
    """Which sentences fit question words that FTS cannot see: "how many", "where", "who", "why"."""
    cues: dict[str, set[int]] = {k: set() for k in ("count", "place", "author", "aim", "reason", "define", "method")}
    for sid, s in sentences.items():
        t = s.text
        if re.search(r"\d", t) or _find_groups(t):
            cues["count"].add(sid)
        if any(name in t for name in card.institutions) or (
                any(_INSTITUTION_KEY.search(m.group()) for m in _INSTITUTION.finditer(t)) and not _BACKGROUND.search(t)):
            cues["place"].add(sid)
        if _AUTHOR_CUE.search(t) or (card.lead_author and card.lead_author.split()[-1] in t):
            cues["author"].add(sid)
        if _role(t) == "question":
            cues["aim"].add(sid)
        if _REASON_CUE.search(t):
            cues["reason"].add(sid)
        if _DEFINES.search(t):
            cues["define"].add(sid)
        if _role(t) == "method" or _METHOD.search(t) and not _HEDGE.search(t) and not _FINDING.search(t):
            cues["method"].add(sid)
    return cues


def _cue_strength(sentences: dict[int, Sentence]) -> dict[tuple[str, int], float]:
    """The sentence that names the most distinct procedure words (scanner, cuff, pressure,
    stimulation, questionnaire...) describes how the study was done better than one that names a few."""
    return {("method", sid): float(len({m.group().lower() for m in _METHOD.finditer(s.text)}))
            for sid, s in sentences.items()}


async def get_card(db: Any, article_id: int | None = None) -> StudyCard:
    return (await _study_index(db, article_id)).card


def load_reference(source_name: str, folder: Path = DATA_DIR) -> dict | None:
    """The verified reference stored beside an article: `article.txt` -> `article.reference.json`."""
    path = folder / f"{Path(source_name).stem}.reference.json"
    if not path.is_file():
        return None
    ref = _read_reference(path, path.stat().st_mtime_ns)
    return dict(ref) if ref else None


@lru_cache(maxsize=8)
def _read_reference(path: Path, _mtime: int) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("the reference file %s could not be read", path)
        return None
    return data if isinstance(data, dict) and data.get("journal") else None


async def study_summary(db: Any, length: str = "short", article_id: int | None = None,
                        reference_folder: Path = DATA_DIR) -> RenderedCard:
    """The study card of the current article, ready to show ("short" or "full")."""
    index = await _study_index(db, article_id)
    ref = load_reference(index.source_name, reference_folder)
    key = (length, json.dumps(ref, sort_keys=True) if ref else "")
    rendered = index.rendered.get(key)
    if rendered is None:
        rendered = index.rendered[key] = render_card(index.card, length, ref)
    return rendered


# ---------------------------------------------------------------------------------------------
# Answering questions
# ---------------------------------------------------------------------------------------------

# A member's words -> words the article may use for the same thing. Plain words only (they are
# quoted as FTS strings). Both the word and its light stem are looked up.
_SYNONYM_SETS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("people", "persons", "participants", "participant", "subjects", "volunteers", "enrolled", "enrol", "enroll",
      "recruited", "included", "sample", "part"),
     ("people", "participants", "patients", "subjects", "volunteers", "enrolled", "recruited", "adults", "took part")),
    (("healthy", "controls", "control", "comparison", "normal"),
     ("healthy", "controls", "control", "comparison", "pain free")),
    (("painkillers", "painkiller", "analgesics", "analgesic", "medication", "medications", "meds", "med", "medicine",
      "medicines", "drugs", "drug", "pills", "pill", "prescriptions"),
     ("opioid", "opioids", "opiates", "analgesic", "painkiller", "painkillers", "medication", "medications",
      "medicine", "medicines", "drug", "drugs")),
    (("opioids", "opioid", "opiates", "opiate", "morphine", "oxycodone", "hydrocodone", "narcotics", "norco",
      "tramadol", "codeine", "opiods", "opoids"),
     ("opioid", "opioids", "opiates", "morphine", "narcotics")),
    (("scan", "scans", "scanned", "scanner", "imaging", "mri", "fmri", "images", "picture", "pictures"),
     ("mri", "fmri", "scan", "scans", "scanner", "magnetic resonance", "imaging", "images")),
    (("relief", "relieve", "relieved", "ease", "eased"), ("relief", "relieve", "offset", "ease")),
    (("expect", "expecting", "expected", "expectation", "anticipate", "anticipation", "anticipating", "coming"),
     ("anticipation", "anticipated", "expectancy", "impending", "expect")),
    (("warn", "warned", "warning", "alert", "alerted", "signal", "signals", "cue", "cues", "told", "notice"),
     ("cues", "cue", "alerting", "alert", "signal", "warning")),
    (("start", "started", "starts", "begin", "began", "begins", "onset"), ("onset", "start", "began")),
    (("reward", "rewards", "pleasure", "punishment", "punish", "motivation"),
     ("reward", "rewarding", "punishment", "punishing")),
    (("find", "found", "findings", "results", "result", "show", "showed", "shows", "discover", "discovered",
      "conclude", "conclusion", "conclusions", "learn", "learned"),
     ("found", "findings", "showed", "show", "results", "revealed")),
    (("sensitive", "sensitivity", "hypersensitive", "hypersensitivity", "hyperalgesia", "sore"),
     ("sensitivity", "sensitive", "hyperalgesia", "heightened")),
    (("work", "works", "working", "worked", "effective", "effectiveness", "help", "helps", "helped", "benefit"),
     ("effective", "effectiveness", "ineffective", "benefit", "help", "helps", "response")),
    (("cure", "cured", "cures", "curable"), ("cure", "cured")),
    (("treatment", "treatments", "treat", "treated", "therapy", "therapies"),
     ("treat", "treatment", "treatments", "therapy", "medications")),
    (("common", "prevalence", "prevalent", "widespread", "americans", "population"),
     ("estimates", "million", "americans", "suffer", "common")),
    (("brain", "brains"), ("brain", "brains", "neurons", "central nervous system")),
    (("future", "next"), ("future", "further", "next")),
    (("journal", "published", "publish", "publication", "paper"), ("journal", "published")),
    (("author", "authors", "led", "lead", "leader", "wrote", "headed"), ("lead author", "author", "led by")),
    (("hospital", "university", "institution", "institute", "college", "centre", "center", "located"),
     ("hospital", "university", "school", "institute", "college", "center")),
    (("small", "size", "big", "large", "tiny"), ("small", "pilot", "large")),
    (("sleep", "tired", "tiredness", "fatigue", "insomnia", "exhausted", "exhaustion"),
     ("sleep", "fatigue", "tired")),
    (("symptoms", "symptom"), ("symptoms", "fatigue", "headaches", "depression", "sleep")),
    (("depression", "depressed", "mood", "anxiety"), ("depression", "mood", "affective")),
    (("less", "lower", "weaker", "weak", "reduced", "decreased", "smaller", "dampened"),
     ("less", "reduced", "lower", "weaker", "decreased", "inhibited")),
    (("nerve", "nerves", "neurons", "neuron", "nervous"), ("neurons", "nervous", "nerve")),
    (("chemical", "chemicals", "chemistry", "dopamine", "neurotransmitters"), ("neurochemical", "chemical")),
    (("different", "differently", "differ", "difference", "differences", "altered", "changed"),
     ("differ", "different", "altered", "reduced", "less")),
    (("pressure", "squeeze", "squeezed", "cuff", "cuffs"), ("cuff", "pressure")),
    (("leg", "legs", "limb"), ("leg", "legs")),
    (("warm", "warmth", "hot", "cold", "temperature", "heated", "heat", "degrees"),
     ("temperature", "degrees", "heated", "warm", "hot", "cold")),
    (("explain", "explains", "explanation", "reason", "reasons"), ("explain", "explanation", "reason")),
    (("aim", "aims", "aimed", "goal", "purpose", "want", "wanted", "trying", "tried"),
     ("examines", "investigate", "whether", "wanted", "aim")),
    (("look", "looked", "looking", "investigate", "investigated", "examine", "examined", "explore", "explored"),
     ("investigate", "examines", "examined", "looked")),
    (("react", "reacted", "respond", "responded", "response", "responses", "reaction", "activity", "active",
      "activation", "activated"),
     ("response", "responses", "respond", "activation", "activated", "deactivated")),
)
SYNONYMS: dict[str, tuple[str, ...]] = {}
for _keys, _values in _SYNONYM_SETS:
    for _k in _keys:
        SYNONYMS[_k] = tuple(dict.fromkeys(SYNONYMS.get(_k, ()) + _values + (_k,)))
_SYNONYM_STEMS = {light_stem(k): k for k in SYNONYMS}

# Words that say how a question is asked, not what it is about.
_QUESTION_WORDS = frozenset("""
how many much what whats which who whom whose where when why is are was were does do did done doing can could
would should will shall may might article story piece text say says said tell tells told mention mentions mentioned
talk talks talking anything something thing things know knew please question information info study studies
studied research researchers researcher scientists scientist trial happen happened happens happening mean means
meaning exactly really actually get got go going make made kind sort way lot new there here any use used using
uses give gave given take takes took taking stand good bad better worse best worst true false right wrong real
important
""".split())
# In questions about the member's own treatment, the actions are theirs; the article can only speak
# about the treatment itself.
_PERSONAL_ACTION_WORDS = frozenset("""
take taking took stop stopping quit quitting start starting use using try trying switch switching increase
increasing decrease decreasing reduce reducing lower raise change changing come coming off keep keeping continue
continuing dose doses dosage safe okay ok ask asking doctor doctors me my mine myself i i'm i've im need needs
needed more less extra higher mix mixing combine combining manage managing hospital clinic visit see call
""".split())

# A question is about the member's own treatment only when it is in the first person AND about
# treatment: "how do I make pancakes?" and "can I trust this study?" are not. The medicine names are
# ones members of fibromyalgia and chronic-pain groups often mention; a name the article never uses
# is left out of the search (the article can only speak about what it covers).
_MEDICINE_NAMES = frozenset("""
lyrica pregabalin gabapentin neurontin cymbalta duloxetine savella milnacipran amitriptyline elavil
cyclobenzaprine flexeril tizanidine baclofen tramadol ultram morphine oxycodone oxycontin percocet hydrocodone
norco vicodin codeine fentanyl methadone buprenorphine suboxone naltrexone ibuprofen advil motrin naproxen
aleve acetaminophen paracetamol tylenol excedrin celebrex aspirin cbd cannabis marijuana guaifenesin melatonin
prednisone trazodone zoloft prozac xanax valium
""".split())
_TREATMENT_NOUN = (
    r"(?:meds?|medications?|medicines?|medicaments?|pills?|tablets?|prescriptions?|doses?|dosage|dosing|"
    r"treatments?|therapy|therapies|regimen|opioids?|opiates?|painkillers?|pain killers?|analgesics?|narcotics?|"
    r"antidepressants?|drugs?|supplements?|injections?|infusions?|surgery|patch(?:es)?|"
    r"doctors?|dr|gp|physician|rheumatologist|neurologist|pharmacist|specialist|hospital|clinic|emergency room|urgent care|"
    + "|".join(sorted(_MEDICINE_NAMES)) + r")"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|me|my|myself)\b")
_OWN_TREATMENT = (
    # "my meds", "my own doctor", "my dose"
    re.compile(rf"\bmy (?:own )?(?:\w+ )?{_TREATMENT_NOUN}\b"),
    # "I'm on morphine", "am I taking too much", "I've been prescribed ..."
    re.compile(r"\b(?:i'm|im|i am|am i|i've been|i have been|i was) (?:on|taking|prescribed|using)\b"),
)
_TREATMENT_WORD = re.compile(rf"\b{_TREATMENT_NOUN}\b")
# What a member does with a treatment: take it, stop it, change it, need it, ask about its safety.
_TREATMENT_ACTION = re.compile(
    r"\b(?:take|taking|took|stop|stopping|quit|quitting|start|starting|switch|switching|change|changing|"
    r"increase|increasing|decrease|decreasing|reduce|reducing|lower|raise|double|skip|miss|wean|taper|"
    r"come off|coming off|get off|mix|mixing|combine|combining|need|needs|try|trying|keep|continue|use|using|"
    r"help|helps|work|works|safe|ok|okay|dangerous|risky|worth|addicted|addiction|dependent|go to|see|visit|call)\b")
# Managing one's own symptoms: "how do I manage my pain?", "what can I take for my flares?"
_OWN_SYMPTOMS = re.compile(
    r"\b(?:manage|managing|treat|treating|relieve|relieving|ease|easing|control|controlling|reduce|reducing|"
    r"lower|cope with|coping with|get rid of|soothe|fix|cure|take for|use for|try for)\b"
    r"(?:\s+\w+){0,3}?\s+(?:my|me|myself)\b"
    r"|\bmy (?:pain|symptoms?|flares?|flare-ups?|fatigue|insomnia|fibro\w*|headaches?|migraines?)\b"
    r"(?=.*\b(?:manage|treat|relieve|ease|control|reduce|lower|cope|get rid of|soothe|fix|cure|take|stop)\b)"
    r"|\b(?:manage|treat|relieve|ease|control|reduce|lower|cope with|get rid of|soothe|fix|cure|take|stop)\b"
    r"(?!\s+part\b).*\bmy (?:pain|symptoms?|flares?|flare-ups?|fatigue|insomnia|fibro\w*|headaches?|migraines?)\b"
)
# The verbs of a question about how the study was done ("how was the pain applied?", "how did they
# cause pain?", "how was it measured?"). They say how the question is asked: the article rarely uses
# the member's verb, so they only add weight to a sentence that does, instead of being required.
_METHOD_VERB = re.compile(
    r"(?:done|measur(?:e|ed|es|ing)|test(?:ed|ing)?|studied|caus(?:e|ed|es|ing)|creat(?:e|ed|es|ing)|"
    r"produc(?:e|ed|es|ing)|induc(?:e|ed|es|ing)|trigger(?:ed|s|ing)?|giv(?:e|en|es|ing)|gave|appl(?:y|ied|ies|ying)|"
    r"scanned|conduct(?:ed|ing)?|carr(?:y|ied)|run|ran|deliver(?:ed|s|ing)?|inflict(?:ed|s|ing)?|"
    r"administer(?:ed|s|ing)?|generat(?:e|ed|es|ing)|perform(?:ed|s|ing)?|record(?:ed|s|ing)?|"
    r"assess(?:ed|es|ing)?|evaluat(?:e|ed|es|ing)|monitor(?:ed|s|ing)?|made)")
_METHOD_NOUN = re.compile(r"methods?|procedures?|methodology")
# "Which hospital ...?" asks where, like "where": the cue finds the institution, so the noun itself
# is not searched as well (it would count the same idea twice).
_PLACE_NOUN = re.compile(r"(?:hospitals?|universit(?:y|ies)|institutions?|institutes?|colleges?|clinics?|labs?|"
                         r"laborator(?:y|ies)|schools?|centers?|centres?)")
_INTENTS = (
    ("journal", re.compile(r"\b(?:journal|published|publish|publication)\b")),
    ("count", re.compile(r"\bhow (?:many|much|warm|hot|cold|long|old|often|far|high|low|heavy|fast)\b|\bnumber of\b|\bsample size\b|\bhow (?:big|large|small) (?:was|is) (?:the|this|it)\b"
                         r"|\bwho (?:took part|participated|was (?:studied|in|tested)|were (?:studied|in|the participants|tested))\b")),
    ("place", re.compile(rf"\bwhere\b|\b(?:which|what) (?:medical )?{_PLACE_NOUN.pattern}\b")),
    ("author", re.compile(r"\bwho\b(?! (?:took part|participated|was (?:studied|in|tested)|were (?:studied|in|tested)))")),
    ("aim", re.compile(r"\b(?:aim|aims|goal|purpose|want(?:ed)? to (?:know|find out|learn|see|test)|set out|trying to "
                       r"(?:find|learn|see)|looking for)\b")),
    ("reason", re.compile(r"\bwhy\b|\bwhat (?:could|might|may) explain\b|\bhow come\b")),
    ("define", re.compile(r"^(?:what|whats|what's)\s+(?:is|are|was|were|does|do)?\s*(?:an?\s+|the\s+)?[\w -]{2,40}?\s*(?:mean|stand for)?\s*\??$"
                          r"|^(?:define|meaning of|explain)\b")),
    # "How was it done", "how did they cause pain", "how do researchers measure it": about what the study
    # did. "How does the brain cause pain?" asks about the illness, not the study.
    ("method", re.compile(rf"\bhow (?:was|were|did|is|are|has|have|had|do (?:they|you|the researchers|researchers|"
                          rf"scientists|the scientists|the team)|does (?:the study|the team|one))\b"
                          rf"(?:\s+[\w']+){{0,5}}?\s+(?:{_METHOD_VERB.pattern}|do (?:it|that|this))(?![\w'])"
                          r"|\bmethods?\b|\bprocedures?\b")),
)
# "how many", "where", "what did they want to know" and "how was it done" point at a few sentences on
# their own; "who" and "why" fit too many to answer without a subject.
_STRONG_CUES = frozenset({"count", "place", "aim", "method"})
MIN_COVERAGE = 0.5        # share of the question's weight the best sentence must match
MAX_QUESTION_CHARS = 300
MAX_GROUPS = 8


def is_personal_medical(question: str) -> bool:
    """Is the member asking about their own treatment, medicines, dose, doctor or the management of
    their own symptoms ("should I stop my meds", "can I take opioids with Lyrica")? Any other "do I"
    or "can I" question ("how do I read this study?") is not."""
    q = fold(question or "")[:MAX_QUESTION_CHARS].replace("’", "'")
    if not _FIRST_PERSON.search(q):
        return False
    if any(rx.search(q) for rx in _OWN_TREATMENT) or _OWN_SYMPTOMS.search(q):
        return True
    # First person, a treatment and something done with it: "do I need more pain medication?"
    return bool(_TREATMENT_WORD.search(q) and _TREATMENT_ACTION.search(q))


@dataclass
class _Group:
    label: str
    terms: tuple[str, ...] = ()         # FTS strings, any of which matches
    cue: str | None = None              # or: sentences that fit a question cue
    weight: float = 1.0


def _fts_string(term: str) -> str:
    """One FTS5 string literal: only letters, digits and spaces survive, so nothing a member types
    (quotes, *, NEAR, parentheses, column filters) can become query syntax."""
    clean = re.sub(r"[^\w ]+", " ", term, flags=re.UNICODE).replace("_", " ")
    clean = re.sub(r"\s+", " ", clean).strip()
    return f'"{clean}"' if clean else ""


def _plan(question: str, index: _StudyIndex, personal: bool) -> list[_Group]:
    q = fold(question)[:MAX_QUESTION_CHARS]
    q = re.sub(r"[^\w' -]+", " ", q).strip()
    groups: list[_Group] = []
    intents = {name for name, rx in _INTENTS if rx.search(q)}
    if "journal" in intents:
        intents.discard("place")
        intents.discard("author")
    if "count" in intents:
        intents.discard("author")
    if personal:
        intents.discard("place")     # "where should I go?" asks about the member's care, not the study
    if "method" in intents and _FIRST_PERSON.search(q):
        intents.discard("method")    # "how do I test for it?" asks about the member, not the study
    if "method" in intents:
        intents.discard("define")    # "what methods did they use?" asks for no definition
    for name in ("count", "place", "author", "aim", "reason", "define", "method"):
        if name in intents:
            # "who" alone says less than "where" or "how many": it only leans towards the speaker.
            groups.append(_Group(label=name, cue=name, weight=0.6 if name in ("author", "define", "reason") else 1.0))

    tokens = [w.replace("’", "'") for w in words(q)]
    seen: set[str] = set()
    if "place" in intents:
        tokens = [t for t in tokens if not _PLACE_NOUN.fullmatch(t)]
    if "method" in intents:
        verbs = [t for t in tokens if (_METHOD_VERB.fullmatch(t) or _METHOD_NOUN.fullmatch(t)) and t not in STOPWORDS]
        tokens = [t for t in tokens if t not in verbs]
        if verbs:
            groups.append(_Group(label="method verbs", weight=0.0,
                                 terms=tuple(t for t in (_fts_string(v) for v in verbs) if t)))
    glossary = glossary_terms()
    i = 0
    while i < len(tokens) and len(groups) < MAX_GROUPS:
        tok = tokens[i]
        i += 1
        if tok in STOPWORDS or tok in _QUESTION_WORDS or (personal and tok in _PERSONAL_ACTION_WORDS):
            continue
        if len(tok) < 2 and not tok.isdigit():
            continue
        if personal and tok in _MEDICINE_NAMES and tok not in index.vocabulary and tok not in SYNONYMS:
            continue    # the member's own medicine, which the article never names: it cannot speak to it
        # A glossary term written out in full ("ventral tegmental area") is one idea, not three.
        rest = " ".join(tokens[i - 1:i + 4])
        hit = next(((t, a) for t in glossary for a in t.folded if rest == a or rest.startswith(a + " ")), None)
        if hit:
            term_hit, alias = hit
            i += len(alias.split()) - 1
            key = term_hit.term
            terms = term_hit.folded
        else:
            stem = light_stem(tok)
            syn = SYNONYMS.get(tok) or SYNONYMS.get(_SYNONYM_STEMS.get(stem, ""), ())
            word = tok
            if not syn and tok not in index.vocabulary and len(tok) >= 5 and not tok.isdigit():
                # A misspelling of a word the article uses ("opiods", "fibromyalga").
                near = process.extractOne(tok, index.vocabulary, scorer=fuzz.ratio, score_cutoff=84)
                if near:
                    word = near[0]
                    syn = SYNONYMS.get(word, ())
            key = syn[0] if syn else word
            terms = tuple(dict.fromkeys((word,) + syn))
        if key in seen:
            continue
        seen.add(key)
        groups.append(_Group(label=key, terms=tuple(t for t in (_fts_string(x) for x in terms) if t)))
    return groups


_NEEDS_CONTEXT = re.compile(r"^(?:\W*)(?:this|these|that|those|they|it|its|he|she|such|however|but|yet|for \w+(?: \w+)?, however)\b", re.I)


async def ask(db: Any, question: str, article_id: int | None = None) -> Answer:
    """Find the one to three sentences of the article that answer `question` best.

    FTS5 (porter stemming) finds the sentences holding each idea of the question, BM25 ranks them,
    and an answer counts only if its best sentence covers at least half of what the question asks
    (ideas weighted by how rare they are in the article). Never raises on odd input. The answers
    to recent questions are remembered with the article they came from.
    """
    text = (question or "").strip()
    index = await _study_index(db, article_id)
    answer = index.remembered_answer(text)
    if answer is not None:
        return replace(answer, passages=list(answer.passages))  # the caller may change its copy
    answer, searched = await _find_answer(db, index, text)
    if searched:  # an answer given while the search failed is not kept
        index.remember_answer(text, replace(answer, passages=list(answer.passages)))
    return answer


async def _find_answer(db: Any, index: _StudyIndex, text: str) -> tuple[Answer, bool]:
    """The answer to `text`, and whether the article could be searched for it."""
    personal = is_personal_medical(text)
    searched = True

    def nothing() -> Answer:
        return Answer(question=text, found=False, passages=[], personal_medical=personal, article_title=index.title)

    groups = _plan(text, index, personal)
    if not groups or not index.order:
        return nothing(), searched

    fts_groups = [(k, g) for k, g in enumerate(groups) if g.terms]
    matches: dict[int, dict[int, float]] = {k: {} for k in range(len(groups))}   # group -> sentence -> bm25
    if fts_groups:
        sql = " UNION ALL ".join(
            "SELECT ? AS g, rowid AS id, bm25(sentences_fts) AS score FROM sentences_fts "
            "WHERE sentences_fts MATCH ? AND rowid BETWEEN ? AND ?" for _ in fts_groups)
        params: list[Any] = []
        for k, g in fts_groups:
            params += [k, " OR ".join(g.terms), index.first_id, index.last_id]
        try:
            rows = await _read(db, sql, params)
        except sqlite3.Error:
            log.exception("study question could not be searched: %r", text[:100])
            rows = []
            searched = False
        for r in rows:
            if r["id"] in index.sentences:
                matches[r["g"]][r["id"]] = -float(r["score"])
    for k, g in enumerate(groups):
        if g.cue:
            # How strongly a sentence fits the cue breaks ties between sentences that fit it.
            matches[k] = {sid: index.cue_strength.get((g.cue, sid), 0.0) for sid in index.cues.get(g.cue, ())}

    n = len(index.order)
    idf = [g.weight * math.log(1 + n / (len(matches[k]) + 0.5)) for k, g in enumerate(groups)]
    total = sum(idf) or 1.0
    coverage: dict[int, float] = {}
    score: dict[int, float] = {}
    for k in range(len(groups)):
        for sid, bm in matches[k].items():
            coverage[sid] = coverage.get(sid, 0.0) + idf[k] / total
            score[sid] = score.get(sid, 0.0) + idf[k] + 0.3 * max(bm, 0.0)
    if not score:
        return nothing(), searched
    ranked = sorted(score, key=lambda sid: (coverage[sid], score[sid], -index.sentences[sid].position), reverse=True)
    best = ranked[0]
    # Answers only: a sentence that matches a small part of the question (only "pain", say) is not one.
    # Groups of weight 0 only add to a sentence's score: they say nothing about whether it answers.
    specific = any(best in matches[k] and len(matches[k]) <= max(2, n // 2) and g.weight
                   for k, g in enumerate(groups))
    # "why?" alone leans on a cue that half the article fits; "where?" or "how many?" do not.
    has_subject = any(best in matches[k] and g.weight and (g.terms or g.cue in _STRONG_CUES)
                      for k, g in enumerate(groups))
    if coverage[best] < MIN_COVERAGE or not specific or not has_subject:
        return nothing(), searched

    # The question's ideas that the best sentence holds and that few sentences share. Another
    # sentence is quoted too only when it is relevant: it holds every one of them.
    key = [k for k, g in enumerate(groups)
           if g.weight and best in matches[k] and len(matches[k]) <= max(2, n // 2)]

    def holds_key(sid: int) -> bool:
        return all(sid in matches[k] for k in key)

    chosen = [best]
    pos = index.order.index(best)
    if _NEEDS_CONTEXT.search(index.sentences[best].text) and pos > 0:
        chosen.append(index.order[pos - 1])          # "however, ..." needs what came before
    # A second answer elsewhere in the article ("opioids ... lack of effectiveness" after "a poor
    # response to ... opioids") must share the question's own words, not only fit a cue like "where"
    # or "how many", and answer well enough on its own.
    if any(groups[k].terms for k in key):
        for sid in ranked[1:]:
            if len(chosen) >= 3:
                break
            if sid not in chosen and holds_key(sid) and coverage[sid] >= MIN_COVERAGE:
                chosen.append(sid)
    # The next sentence of the same paragraph, when it carries on with the same ideas.
    if len(chosen) < 3 and pos + 1 < len(index.order):
        nxt = index.order[pos + 1]
        same_para = index.sentences[nxt].paragraph == index.sentences[best].paragraph
        if nxt not in chosen and same_para and any(nxt in matches[k] for k in key):
            chosen.append(nxt)
    passages = [
        Passage(paragraph=index.sentences[sid].paragraph, sentence=index.sentences[sid].position,
                in_paragraph=index.sentences[sid].in_paragraph, text=index.sentences[sid].text, best=sid == best)
        for sid in sorted(chosen, key=lambda sid: index.sentences[sid].position)
    ]
    return Answer(question=text, found=True, passages=passages, personal_medical=personal,
                  article_title=index.title), searched


def render_answer(answer: Answer) -> RenderedCard:
    """The reply to /study ask as plain text parts (fits one embed)."""
    lines: list[str] = []
    if answer.personal_medical:
        lines.append("For your own treatment, please ask your doctor or pharmacist: they know your health and "
                     "your medicines. Here is only what the article says.")
    if answer.found:
        for p in answer.passages:
            lines.append(f"> {trim_to(p.text, 900)}\n(paragraph {p.paragraph})")
    else:
        lines.append("The article does not answer that question. Try `/study summary` for what the study did and "
                     "found, or `/quote` to read what other people living with it wrote.")
    return RenderedCard(
        title=_limit(f"From the article: {answer.article_title}", EMBED_TITLE),
        description=_limit("\n\n".join(lines), EMBED_DESCRIPTION),
        fields=[],
        footer=NOT_MEDICAL_ADVICE,
    )


# ---------------------------------------------------------------------------------------------
# Glossary and source
# ---------------------------------------------------------------------------------------------

async def glossary_choices(db: Any, prefix: str = "", article_id: int | None = None) -> list[str]:
    """Up to 25 glossary terms the article uses, for autocomplete: those containing what the member
    typed (any case), the ones that start with it first."""
    index = await _study_index(db, article_id)
    typed = fold(prefix or "")[:100]
    by_name = {t.term: t for t in glossary_terms()}
    found = []
    for term in index.card.terms:
        entry = by_name.get(term)
        if entry is None:
            continue
        names = [fold(a) for a in entry.aliases]
        if not typed or any(typed in a for a in names):
            # The term itself starting with what was typed, then an alias starting with it, then any.
            rank = 0 if fold(term).startswith(typed) else 1 if any(a.startswith(typed) for a in names) else 2
            found.append((rank, fold(term), term))
    return [term[:100] for _, _, term in sorted(found)][:25]


async def glossary_entry(db: Any, term: str, article_id: int | None = None) -> GlossaryEntry:
    """The definition of a term, and the article sentence where the term first appears."""
    index = await _study_index(db, article_id)
    wanted = fold(term or "").strip()
    entries = glossary_terms()
    entry = next((t for t in entries if wanted and (wanted == fold(t.term) or wanted in (fold(a) for a in t.aliases))), None)
    if entry is None and len(wanted) >= 3:
        names = {fold(a): t for t in entries if t.term in index.card.terms for a in (t.term, *t.aliases)}
        near = process.extractOne(wanted, list(names), scorer=fuzz.ratio, score_cutoff=85)
        if near:
            entry = names[near[0]]
    if entry is None:
        some = ", ".join(list(index.card.terms)[:6]) or "none yet"
        shown = trim_to((term or "").strip(), 60) or "that"
        raise UserFacingError(f"The glossary has no entry for “{shown}”. Terms from this article include: {some}.")
    sentence = paragraph = None
    position = index.card.terms.get(entry.term)
    if position is not None:
        s = next((s for s in index.sentences.values() if s.position == position), None)
        if s:
            sentence, paragraph = s.text, s.paragraph
    return GlossaryEntry(term=entry.term, definition=entry.definition, sentence=sentence, paragraph=paragraph)


async def source(db: Any, article_id: int | None = None, reference_folder: Path = DATA_DIR) -> SourceInfo:
    """Where the article and the study come from: headline, byline, the journal as the article names
    it, and the verified reference when one is stored beside the article."""
    index = await _study_index(db, article_id)
    card = index.card
    ref = load_reference(index.source_name, reference_folder)
    if ref and not reference_matches(ref, card):
        ref = None
    published = _published_line(card, ref)
    published += " The article does not say which website first published it."
    return SourceInfo(
        headline=index.title, byline=index.byline, journal_as_named=card.journal,
        journal_sentence=card.journal_item.text if card.journal_item else None,
        journal_paragraph=card.journal_item.paragraph if card.journal_item else None,
        institutions=list(card.institutions), city=card.city, lead_author=card.lead_author,
        published_line=published, reference=ref,
        reference_line=reference_line(ref) if ref else None,
    )


def render_source(info: SourceInfo) -> RenderedCard:
    fields = [("Where the study was published", info.published_line)]
    if info.byline:
        fields.insert(0, ("Written by", info.byline))
    if info.reference_line:
        fields.append(("Reference", info.reference_line))
    return RenderedCard(
        title=_limit(info.headline, EMBED_TITLE), description="",
        fields=[(_limit(n, FIELD_NAME), _limit(v, FIELD_VALUE)) for n, v in fields],
        footer=NOT_MEDICAL_ADVICE,
    )


def render_glossary(entry: GlossaryEntry) -> RenderedCard:
    fields = []
    if entry.sentence:
        fields.append((f"In the article (paragraph {entry.paragraph})", _limit(entry.sentence, FIELD_VALUE)))
    return RenderedCard(title=_limit(entry.term, EMBED_TITLE), description=entry.definition,
                        fields=fields, footer=NOT_MEDICAL_ADVICE)
