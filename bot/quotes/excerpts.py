"""Fitting a quote to a reply: the passage of a text that best matches the search, cut at
sentence (or word) boundaries to the room there is."""

from __future__ import annotations

from bot import topics
from bot.quotes import ranking
from bot.quotes.model import DIRECT_BONUS, EXCERPT_LIMIT, SAMPLE_PHRASE_LIMIT
from bot.quotes.texts import EXCERPTS, SentenceTopics, match_key, sentences_of, text_digest
from bot.text import sentence_spans, trim_to, word_spans


# -- excerpts -------------------------------------------------------------------------------

def _score_of_topics(tags, match: topics.QueryMatch) -> float:
    """How strongly a passage with these topic tags, (topic, score, keys), speaks of the search."""
    score = 0.0
    for topic, tag_score, keys in tags:
        if topic in match.topics:
            score += tag_score
            score += DIRECT_BONUS * len(match.keys.get(topic, frozenset()) & keys)
    return score


def passage_score(passage: str, match: topics.QueryMatch, tags=None) -> float:
    """How well a passage matches the search; `tags` are its topic tags when already known."""
    if tags is None:
        tags = [(t.topic, t.score, frozenset(t.keys)) for t in topics.taxonomy().analyse(passage)]
    return _score_of_topics(tags, match) + DIRECT_BONUS * len(ranking.term_hits(passage, match.search_terms))


def excerpt_for(text: str, match: topics.QueryMatch, limit: int = EXCERPT_LIMIT) -> tuple[str, bool]:
    """The passage of `text` that best matches the search, cut at sentence boundaries to at most
    `limit` characters (an ellipsis marks each cut). Returns (excerpt, trimmed).

    Where to cut is remembered per text and search, and the topics of each sentence per text."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    digest = text_digest(text)
    key = (digest, match_key(match), limit)
    cut = EXCERPTS.get(key)
    if cut is None:
        cut = _excerpt_cut(text, sentences_of(text, digest), match, limit)
        EXCERPTS.put(key, cut)
    return _apply_cut(text, cut), True


# Where an excerpt is cut: (start, end, None) for text[start:end] with an ellipsis on each cut
# side, or (start, end, room) for text[start:end] trimmed to `room` characters by `trim_to`.
_Cut = tuple[int, int, "int | None"]


def _apply_cut(text: str, cut: _Cut) -> str:
    start, end, room = cut
    if room is not None:
        return trim_to(text[start:end], room)
    return ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")


def _excerpt_cut(text: str, sentences: tuple[SentenceTopics, ...], match: topics.QueryMatch, limit: int) -> _Cut:
    if not sentences:
        return 0, len(text), limit
    spans = [(s.start, s.end) for s in sentences]
    scores = [passage_score(text[s.start:s.end], match, s.tags) for s in sentences]
    best = max(range(len(spans)), key=lambda i: (scores[i], -i))
    room = limit - 2  # two ellipses at most
    s, e = spans[best]
    if e - s > room:
        return _window_cut(text, s, e, match, room)
    lo = hi = best
    while True:
        grew = False
        if hi + 1 < len(spans) and spans[hi + 1][1] - spans[lo][0] <= room:
            hi += 1
            grew = True
        if lo > 0 and spans[hi][1] - spans[lo - 1][0] <= room:
            lo -= 1
            grew = True
        if not grew:
            break
    return spans[lo][0], spans[hi][1], None


def window_in_sentence(text: str, s: int, e: int, match: topics.QueryMatch, room: int) -> str:
    """A sentence longer than the limit: a window of whole words around its first matching word."""
    return _apply_cut(text, _window_cut(text, s, e, match, room))


def _window_cut(text: str, s: int, e: int, match: topics.QueryMatch, room: int) -> _Cut:
    spans = [(a + s, b + s) for a, b in word_spans(text[s:e])]
    if not spans:
        return s, e, room
    focus = 0
    for i, (a, b) in enumerate(spans):
        if passage_score(text[a:b], match) > 0:
            focus = i
            break
    # Start a little before the match so that it reads in context.
    start = max(s, spans[focus][0] - room // 4)
    first = next(i for i, (a, _b) in enumerate(spans) if a >= start)
    last = first
    while last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= room:
        last += 1
    return spans[first][0], spans[last][1], None


def sample_phrase(text: str, match: topics.QueryMatch, limit: int = SAMPLE_PHRASE_LIMIT) -> str:
    """The sentence of `text` that speaks most of the topic, shortened to `limit`."""
    spans = sentence_spans(text.strip()) or [(0, len(text.strip()))]
    body = text.strip()
    best = max(spans, key=lambda se: (passage_score(body[se[0]:se[1]], match), -se[0]))
    s, e = best
    if e - s <= limit:
        return body[s:e]
    return window_in_sentence(body, s, e, match, limit - 2)
