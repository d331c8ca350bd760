"""What is worked out once per text: its safety flags, the topics of its sentences, and (in
`excerpts`) where its excerpt for a search is cut.

A quote's safety flags, the topics of its sentences and its excerpt for a search depend only on
its words, so they are kept in small caches keyed by a digest of the text. An edited text is a
new key; a withdrawn or forgotten post is never read again, so its entries just age out. The
caches hold flags, offsets and scores, never the text itself.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from bot import safety, topics
from bot.quotes.model import EXCERPT_LIMIT, fetch_rows
from bot.storage import Database
from bot.text import sentence_spans


class LRU:
    """A dict that keeps only its `size` most recently used entries."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()

    def get(self, key):
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def text_digest(text: str) -> bytes:
    """What the caches know a text by: 16 bytes that change whenever a character does."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True)
class TextFacts:
    crisis: bool                # the safety detector finds words of suicide or self-harm
    cure_note: str | None       # the evidence note for an unproven-cure claim


@dataclass(frozen=True)
class SentenceTopics:
    start: int
    end: int
    tags: tuple[tuple[str, float, frozenset[str]], ...]   # (topic, score, keys), strongest first


FACTS = LRU(10_000)       # a few hundred bytes each
SENTENCES = LRU(1_000)    # long texts only: a few kilobytes each
EXCERPTS = LRU(10_000)    # (text, search) -> where the excerpt starts and ends


def clear_caches() -> None:
    """Forget everything worked out from texts (the taxonomy or the safety rules were replaced)."""
    for cache in (FACTS, SENTENCES, EXCERPTS):
        cache.clear()


def facts_of(text: str, digest: bytes | None = None) -> TextFacts:
    digest = digest or text_digest(text)
    facts = FACTS.get(digest)
    if facts is None:
        scan = safety.scan(text)
        facts = TextFacts(scan.sensitive, scan.evidence_note if scan.cure_claim else None)
        FACTS.put(digest, facts)
    return facts


def analyse_sentences(text: str) -> tuple[SentenceTopics, ...]:
    tax = topics.taxonomy()
    return tuple(
        SentenceTopics(s, e, tuple((t.topic, t.score, frozenset(t.keys)) for t in tax.analyse(text[s:e])))
        for s, e in sentence_spans(text))


def sentences_of(text: str, digest: bytes) -> tuple[SentenceTopics, ...]:
    """The sentences of a (stripped) text with their topics."""
    key = (digest, topics.taxonomy().digest)
    found = SENTENCES.get(key)
    if found is None:
        found = analyse_sentences(text)
        SENTENCES.put(key, found)
    return found


def match_key(match: topics.QueryMatch) -> tuple:
    """Everything about a search that decides which passage of a text matches it best."""
    return (match.topics, tuple(sorted((t, tuple(sorted(k))) for t, k in match.keys.items())),
            match.search_terms, topics.taxonomy().digest)


async def warm_up(db: Database) -> int:
    """Work out the safety flags and sentence topics of the article's comments ahead of the first
    search (every search reads them). The work runs in a worker thread. Returns how many."""
    rows = await fetch_rows(db, "SELECT text FROM comments")
    texts = [r[0] for r in rows if r[0] and r[0].strip()]

    def work() -> list:
        out = []
        for text in texts:
            scan = safety.scan(text)
            stripped = text.strip()
            long_text = len(stripped) > EXCERPT_LIMIT
            out.append((text_digest(text), TextFacts(scan.sensitive, scan.evidence_note if scan.cure_claim else None),
                        text_digest(stripped), analyse_sentences(stripped) if long_text else None))
        return out

    digest_of_taxonomy = topics.taxonomy().digest
    for digest, facts, stripped_digest, sentences in await asyncio.to_thread(work):
        FACTS.put(digest, facts)
        if sentences is not None:
            SENTENCES.put((stripped_digest, digest_of_taxonomy), sentences)
    return len(texts)
