"""The article's headline and byline, where the study was published, and its reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import DATA_DIR
from bot.safety import NOT_MEDICAL_ADVICE
from bot.study.index import _study_index, reference_of
from bot.study.model import EMBED_TITLE, FIELD_NAME, FIELD_VALUE, RenderedCard, SourceInfo
from bot.study.render import _limit, _published_line, reference_line, reference_matches


async def source(db: Any, article_id: int | None = None, reference_folder: Path = DATA_DIR) -> SourceInfo:
    """Where the article and the study come from: headline, byline, the journal as the article names
    it, and the verified reference when one is stored beside the article."""
    index = await _study_index(db, article_id)
    card = index.card
    ref = reference_of(index, reference_folder)
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
