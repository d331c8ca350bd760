"""The glossary: hard words of the article explained in plain language, with the sentence where
the article uses each."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz, process

from bot.errors import UserFacingError
from bot.safety import NOT_MEDICAL_ADVICE
from bot.study.index import _study_index
from bot.study.model import EMBED_TITLE, FIELD_VALUE, GlossaryEntry, RenderedCard
from bot.study.render import _limit
from bot.study.terms import glossary_terms
from bot.text import fold, trim_to


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


def render_glossary(entry: GlossaryEntry) -> RenderedCard:
    fields = []
    if entry.sentence:
        fields.append((f"In the article (paragraph {entry.paragraph})", _limit(entry.sentence, FIELD_VALUE)))
    return RenderedCard(title=_limit(entry.term, EMBED_TITLE), description=entry.definition,
                        fields=fields, footer=NOT_MEDICAL_ADVICE)
