"""What the study code hands around: sentences, the card and its items, answers, glossary
entries, source information, and the limits of what a reply may hold."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# Bump when the card's shape or the rules change: stored cards of an older version are rebuilt.
CARD_VERSION = 4  # 2: wider rules for findings, methods and aims; "not stated in the article"; 3: the article's
#                    other explanation with the interpretation, no scan count the article does not state;
#                    4: a comparison group the article names ("the control group") counts as one
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
