"""Finding the article and its cached study data: one or two small queries, cached per article;
the card, the verified reference beside the article, and the summary."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from bot.config import DATA_DIR
from bot.errors import UserFacingError
from bot.study.card import build_card, store_study
from bot.study.facts import (
    _BACKGROUND,
    _DEFINES,
    _FINDING,
    _HEDGE,
    _INSTITUTION,
    _INSTITUTION_KEY,
    _METHOD,
    _find_groups,
    _role,
)
from bot.study.model import CARD_VERSION, Answer, PreparedStudy, RenderedCard, Sentence, StudyCard
from bot.study.render import render_card
from bot.study.sentences import article_sentences
from bot.text import fold, words

log = logging.getLogger("bot.study")

@dataclass
class _StudyIndex:
    article_id: int
    content_hash: str
    title: str
    byline: str | None
    source_name: str
    stored_reference: str | None            # the reference kept with the article (JSON), if any
    shared: bool                            # loaded by the host, not uploaded by one server
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
KEPT_ARTICLES = 16
_CACHE: "weakref.WeakKeyDictionary[Any, dict[tuple[int, str], _StudyIndex]]" = weakref.WeakKeyDictionary()
_LOCKS: "weakref.WeakKeyDictionary[Any, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def _read(db: Any, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Rows of one query in a single trip to the database thread (the commands answered most
    often read through here)."""
    return list(await db.conn.execute_fetchall(sql, tuple(params)))


async def _study_index(db: Any, article_id: int | None = None) -> _StudyIndex:
    if article_id is None:
        # The library's first shared article: an article one server uploaded is never another's default.
        rows = await _read(db, "SELECT id, content_hash FROM articles WHERE guild_id IS NULL ORDER BY id LIMIT 1")
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
                # The articles asked about most recently are kept; memory stays flat however big the library.
                while len(per_db) >= KEPT_ARTICLES:
                    per_db.pop(next(iter(per_db)))
                per_db[key] = index
    else:
        per_db[key] = per_db.pop(key)  # most recently used last
    return index


async def _load_index(db: Any, article_id: int, content_hash: str) -> _StudyIndex:
    art = await db.fetchone("SELECT title, byline, source_name, card_json, reference_json, guild_id FROM articles WHERE id = ?",
                            (article_id,))
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
        source_name=art["source_name"], stored_reference=art["reference_json"], shared=art["guild_id"] is None, card=card, sentences=sentences, order=order,
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


def reference_of(index: _StudyIndex, folder: Path = DATA_DIR) -> dict | None:
    """The article's verified reference: the one stored with it, or for a shared article loaded
    before references were stored, the file beside it in `folder`. An uploaded article has none
    unless it was stored with it (a file name of one server's upload says nothing)."""
    if index.stored_reference:
        try:
            data = json.loads(index.stored_reference)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("journal"):
            return data
    return load_reference(index.source_name, folder) if index.shared else None


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
    ref = reference_of(index, reference_folder)
    key = (length, json.dumps(ref, sort_keys=True) if ref else "")
    rendered = index.rendered.get(key)
    if rendered is None:
        rendered = index.rendered[key] = render_card(index.card, length, ref)
    return rendered
