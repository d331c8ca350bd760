"""Community voices: find quotes on a topic among the reader comments of the articles a server
shows and that server's approved member posts.

How a search is answered (`find_quotes`):
1. `bot.topics.match_query` reads the search: topic names and aliases, terms and phrases, typos.
2. Candidates come from the stored topic tags (`topic_tags`), per server and topic, so a search
   never reads other servers' rows; words the taxonomy does not know are looked for in the text:
   the comments through their FTS5 index, the server's posts by a bounded scan of its newest
   approved posts.
3. Ranking: texts that answer every part of the search first; then relevance: how strongly the
   text speaks of the topics (a short focused text beats a long one that mentions it once), plus
   a large bonus for each word of the search found in the text.
4. Quotes about self-harm or suicide are offered only for a mental-health search or when the
   text itself matches every part of the search; they come back marked `sensitive`, for the
   reply to put behind a spoiler with a content note and crisis resources.
5. "Another" skips what this member was already shown for the same search; a new search starts
   over. A channel is not given the quote it was given last time when there is another one.

Which articles' comments a server is offered is read from the library (`bot.library`): every
article when it shows them all (the search then reads exactly as it did with one article), and
only its own when it turned some off or other servers uploaded their own. A server that shows more
than one article is told which article each comment comes from.

Nothing here imports discord: the functions return plain dataclasses.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot import library, safety, topics
from bot.errors import UserFacingError
from bot.storage import Database, discord_id, utcnow
from bot.text import fold, sentence_spans, trim_to, word_spans, words

log = logging.getLogger(__name__)

# Quotes are trimmed to about this many characters around the passage that matched: short enough
# to read at a glance in an embed (whose description may hold 4096).
EXCERPT_LIMIT = 700
SAMPLE_PHRASE_LIMIT = 120
MAX_COUNT = 5
MAX_QUERY_LENGTH = 200

ORIGIN_COMMENTS = "the article's comments"
ORIGIN_ARTICLE = "the comments on “{title}”"   # when the server shows several articles
ORIGIN_COMMUNITY = "this server's community"
ANONYMOUS_READER = "a reader"
ANONYMOUS_MEMBER = "anonymous member"

# How many tagged texts per topic (and per term asked for) are considered for one search, best
# first, plus as many as the member has already been shown: "Another" pages on past them.
CANDIDATES_PER_TOPIC = 60
CANDIDATES_PER_TERM = 60
# Words the taxonomy does not know are looked for in this many of the server's newest approved
# posts: a bounded scan, whatever the size of the server.
FREE_TEXT_SCAN_POSTS = 2000
FREE_TEXT_MATCHES = 50
# A word of the search found in the text counts this much more than a topic's score.
DIRECT_BONUS = 5.0
# Texts of about this many words count as focused; longer ones have their score spread thinner.
FOCUS_WORDS = 120

# The same formula in SQL (ordering candidates; the index topic_tags_rank in migration 0003 is
# built on exactly this expression) and in Python (ranking them).
_DENSITY_SQL = f"score / (1.0 + length / {FOCUS_WORDS}.0)"


def _density(score: float, length: int) -> float:
    return score / (1.0 + length / FOCUS_WORDS)


async def _rows(db: Database, sql: str, params=()) -> list:
    """Rows of one query in a single trip to the database thread (a search makes a handful)."""
    return list(await db.conn.execute_fetchall(sql, tuple(params)))


# -- what is worked out once per text -------------------------------------------------------
#
# A quote's safety flags, the topics of its sentences and its excerpt for a search depend only on
# its words, so they are kept in small caches keyed by a digest of the text. An edited text is a
# new key; a withdrawn or forgotten post is never read again, so its entries just age out. The
# caches hold flags, offsets and scores, never the text itself.

class _LRU:
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
class _TextFacts:
    crisis: bool                # the safety detector finds words of suicide or self-harm
    cure_note: str | None       # the evidence note for an unproven-cure claim


@dataclass(frozen=True)
class _SentenceTopics:
    start: int
    end: int
    tags: tuple[tuple[str, float, frozenset[str]], ...]   # (topic, score, keys), strongest first


_FACTS = _LRU(10_000)       # a few hundred bytes each
_SENTENCES = _LRU(1_000)    # long texts only: a few kilobytes each
_EXCERPTS = _LRU(10_000)    # (text, search) -> where the excerpt starts and ends


def clear_caches() -> None:
    """Forget everything worked out from texts (the taxonomy or the safety rules were replaced)."""
    for cache in (_FACTS, _SENTENCES, _EXCERPTS):
        cache.clear()


def _facts(text: str, digest: bytes | None = None) -> _TextFacts:
    digest = digest or text_digest(text)
    facts = _FACTS.get(digest)
    if facts is None:
        scan = safety.scan(text)
        facts = _TextFacts(scan.sensitive, scan.evidence_note if scan.cure_claim else None)
        _FACTS.put(digest, facts)
    return facts


def _analyse_sentences(text: str) -> tuple[_SentenceTopics, ...]:
    tax = topics.taxonomy()
    return tuple(
        _SentenceTopics(s, e, tuple((t.topic, t.score, frozenset(t.keys)) for t in tax.analyse(text[s:e])))
        for s, e in sentence_spans(text))


def _sentences(text: str, digest: bytes) -> tuple[_SentenceTopics, ...]:
    """The sentences of a (stripped) text with their topics."""
    key = (digest, topics.taxonomy().digest)
    found = _SENTENCES.get(key)
    if found is None:
        found = _analyse_sentences(text)
        _SENTENCES.put(key, found)
    return found


def _match_key(match: topics.QueryMatch) -> tuple:
    """Everything about a search that decides which passage of a text matches it best."""
    return (match.topics, tuple(sorted((t, tuple(sorted(k))) for t, k in match.keys.items())),
            match.search_terms, topics.taxonomy().digest)


async def warm_up(db: Database) -> int:
    """Work out the safety flags and sentence topics of the article's comments ahead of the first
    search (every search reads them). The work runs in a worker thread. Returns how many."""
    rows = await _rows(db, "SELECT text FROM comments")
    texts = [r[0] for r in rows if r[0] and r[0].strip()]

    def work() -> list:
        out = []
        for text in texts:
            scan = safety.scan(text)
            stripped = text.strip()
            long_text = len(stripped) > EXCERPT_LIMIT
            out.append((text_digest(text), _TextFacts(scan.sensitive, scan.evidence_note if scan.cure_claim else None),
                        text_digest(stripped), _analyse_sentences(stripped) if long_text else None))
        return out

    digest_of_taxonomy = topics.taxonomy().digest
    for digest, facts, stripped_digest, sentences in await asyncio.to_thread(work):
        _FACTS.put(digest, facts)
        if sentences is not None:
            _SENTENCES.put((stripped_digest, digest_of_taxonomy), sentences)
    return len(texts)


class QuoteNotFound(UserFacingError):
    """The quote was withdrawn, or belongs to another server."""


# -- what the functions return --------------------------------------------------------------

@dataclass(frozen=True)
class Quote:
    source: str                 # "comment" (the article's readers) or "post" (this server's members)
    item_id: int                # comments.id or posts.id: what "read in full" asks `get_quote` for
    author_label: str           # the name as it appeared, "a reader", or "anonymous member"
    origin_label: str           # "the article's comments" or "this server's community"
    topics: tuple[str, ...]     # the topics the text carries, strongest first
    excerpt: str                # the passage to show (the whole text when short)
    full_text: str
    trimmed: bool               # the excerpt is shorter than the full text
    sensitive: bool             # touches on self-harm or suicide: spoiler, content note, resources
    cure_note: str | None       # evidence note for a text promoting an unproven cure
    matched: tuple[str, ...] = ()  # the words of the search found in the text, as the taxonomy names them


@dataclass(frozen=True)
class QuoteResult:
    query: str
    matched_topics: tuple[str, ...]     # the topics the search was read as
    quotes: tuple[Quote, ...]
    exhausted: bool                     # nothing more to offer for this search after these
    nearest_topics: tuple[str, ...] = ()  # when fewer than asked for speak to the search: topics to suggest
    corrections: tuple[tuple[str, str], ...] = ()  # typos read as terms: ("opiods", "opioids")
    remaining: int = 0                  # how many more "Another" can give (at least)
    seen_all: bool = False              # texts speak to the search, but the member was shown them all


@dataclass(frozen=True)
class TopicCount:
    name: str                   # the value to search for
    title: str                  # "Medication and opioids"
    description: str
    count: int                  # quotes this server can be offered under the topic
    sample_phrase: str          # a short line from the best quote ("" when there is none)
    sample_note: str | None = None   # the evidence note when that quote claims an unproven cure


@dataclass(slots=True)
class _Candidate:
    source: str
    item_id: int
    relevance: float = 0.0
    coverage: int = 0           # how many parts of the search the text answers
    sensitive: bool = False
    topic_scores: dict[str, float] = field(default_factory=dict)
    keys: dict[str, set[str]] = field(default_factory=dict)   # topic -> keys found
    free_hits: set[str] = field(default_factory=set)
    speaks: bool = False        # the text speaks to the search, not only to a topic near it

    @property
    def ident(self) -> tuple[str, int]:
        return self.source, self.item_id


# -- which articles' comments ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Scope:
    articles: tuple[int, ...] | None    # the articles whose comments are offered; None: all of them
    named: bool                         # several articles: say which one a comment comes from

    def comments_sql(self, column: str) -> tuple[str, list]:
        """" AND <column> IN (the comments of these articles)", or nothing when every article counts."""
        if self.articles is None:
            return "", []
        marks = ",".join("?" * len(self.articles)) or "NULL"
        return f" AND {column} IN (SELECT id FROM comments WHERE article_id IN ({marks}))", list(self.articles)

    def tags_sql(self) -> tuple[str, list]:
        """The same for topic_tags rows, whose posts are never filtered."""
        if self.articles is None:
            return "", []
        marks = ",".join("?" * len(self.articles)) or "NULL"
        return (f" AND (source = 'post' OR item_id IN (SELECT id FROM comments WHERE article_id IN ({marks})))",
                list(self.articles))


EVERY_ARTICLE = _Scope(None, False)


async def _scope(db: Database, guild_id: int) -> _Scope:
    shown = await library.shown_in(db, guild_id)
    return _Scope(shown.comment_scope, shown.several)


# -- the search -----------------------------------------------------------------------------

def query_key(query: str) -> str:
    """What "the same search" means for "Another": the words, folded, single-spaced."""
    return " ".join(fold(query).split())[:MAX_QUERY_LENGTH]


async def find_quotes(
    db: Database, *, guild_id: int, query: str, user_id: int, channel_id: int | None,
    count: int = 1, another: bool = False, record_in_background: bool = False,
) -> QuoteResult:
    """The best quotes for `query` in this server, and what was shown is recorded.

    `another=True` continues the member's last search for the same words, never repeating a
    quote until none are left (then `quotes` is empty and `exhausted` True). `exhausted` is also
    True when the quotes returned are the last ones, so the reply can say so at once.

    `record_in_background=True` returns before the record of what was shown is committed, so that
    the reply need not wait for the write: the next search in this server that reads the record
    ("Another", a channel's last quote) waits for it, and `records_written` waits for all of them.
    """
    key = query_key(query)
    if not key:
        raise UserFacingError("Type a topic, or a few words to look for in what people wrote.")
    count = max(1, min(int(count), MAX_COUNT))
    match = topics.match_query(key)
    if match.empty:
        return QuoteResult(query=key, matched_topics=(), quotes=(), exhausted=True,
                           nearest_topics=tuple(await _nearest(db, guild_id, key, match)))

    scope = await _scope(db, guild_id)
    seen, last = await _history(db, guild_id, user_id, channel_id, key if another else None)
    candidates = await _candidates(db, guild_id, match, seen=len(seen), scope=scope)
    # Only texts that speak to the search: never others to fill the reply.
    ranked = [c for c in candidates.values() if c.speaks and _may_offer(c, match)]
    # Texts that answer every part of the search first ("waking up in pain": sleep and pain),
    # then the most relevant; ties go to what this channel was not just given.
    ranked.sort(key=lambda c: (-c.coverage, -round(c.relevance, 6), c.ident == last, c.source != "comment", c.item_id))
    remaining = [c for c in ranked if c.ident not in seen]
    if len(remaining) > 1 and remaining[0].ident == last:
        # The channel was just given this quote: give the next one first.
        remaining[0], remaining[1] = remaining[1], remaining[0]

    quotes: list[Quote] = []
    used = 0
    while remaining[used:] and len(quotes) < count:
        batch = remaining[used:used + count - len(quotes)]
        used += len(batch)
        quotes.extend(await _build_quotes(db, guild_id, batch, match, scope))
    left = len(remaining) - used

    if not quotes and not another:
        return QuoteResult(query=key, matched_topics=match.topics, quotes=(), exhausted=True,
                           nearest_topics=tuple(await _nearest(db, guild_id, key, match)),
                           corrections=match.corrections, seen_all=bool(ranked))
    nearest: tuple[str, ...] = ()
    if len(quotes) < count and not another:
        # Fewer than asked for: the reply says so and offers the topics nearest the search.
        nearest = tuple(t for t in await _nearest(db, guild_id, key, match, exclude_topic_only=match.topic_only)
                        if not (match.topic_only and t in match.topics))
    shown = [(q.source, q.item_id) for q in quotes]
    if record_in_background:
        _record_in_background(db, guild_id, user_id, channel_id, key, shown, fresh=not another)
    else:
        await _record(db, guild_id, user_id, channel_id, key, shown, fresh=not another)
    return QuoteResult(
        query=key, matched_topics=match.topics, quotes=tuple(quotes), exhausted=left <= 0,
        corrections=match.corrections, remaining=max(left, 0), nearest_topics=nearest,
    )


TEXT_KEY = "~"  # marks a key that stands for a word found in the text itself, not a stored term


def _parts(match: topics.QueryMatch) -> list[tuple[str, frozenset[str]]]:
    """The parts of a search and the keys that answer each word for word: per topic, its terms
    asked for and its words looked for in the text; per unknown word, that word. A topic asked
    for only by its name has no such keys."""
    parts = []
    for t in match.topics:
        keys = {k for k in match.keys.get(t, ()) if k}
        keys |= {TEXT_KEY + w for w in match.text_terms.get(t, ())}
        parts.append((t, frozenset(keys)))
    parts += [("", frozenset({w})) for w in match.free_terms]
    return parts


_NONE: frozenset[str] = frozenset()


def _found_keys(c: _Candidate, topic: str) -> set[str] | frozenset[str]:
    return c.free_hits if topic == "" else c.keys.get(topic, _NONE)


def _matches_every_part(c: _Candidate, match: topics.QueryMatch) -> bool:
    parts = _parts(match)
    if match.topic_only or not parts:
        return False
    return all(keys and keys & _found_keys(c, topic) for topic, keys in parts)


def _may_offer(c: _Candidate, match: topics.QueryMatch) -> bool:
    """Quotes about self-harm are never a pick for an unrelated topic."""
    if not c.sensitive:
        return True
    tax = topics.taxonomy()
    if any(tax.topics[t].allows_sensitive for t in match.topics):
        return True
    return _matches_every_part(c, match)


async def _candidates(db: Database, guild_id: int, match: topics.QueryMatch,
                      seen: int = 0, scope: _Scope = EVERY_ARTICLE) -> dict[tuple[str, int], _Candidate]:
    """Everything that may answer the search, with its relevance. `seen`: how many quotes the
    member has already been shown for it, so that "Another" can page past the first candidates."""
    found: dict[tuple[str, int], _Candidate] = {}
    # Of a text's stored keys only those the search asked for matter (ranking, "matched"): the
    # rest are not kept.
    wanted = {t: frozenset(k for k in match.keys.get(t, ()) if k) for t in match.topics}

    # One query: per topic, its best texts, and the texts that use the very terms asked for
    # (even when the topic's best texts are many). A text may come twice; it is taken once.
    selects, params = [], []
    columns = "SELECT ? AS asked, source, item_id, score, length, keys, sensitive FROM topic_tags"
    order = f" ORDER BY {_DENSITY_SQL} DESC LIMIT ?"
    in_scope, scope_params = scope.tags_sql()
    for topic in match.topics:
        # The comments' best and this server's best, each read in order from topic_tags_rank.
        for where_guild in (topics.COMMENTS_GUILD, guild_id):
            selects.append(f"SELECT * FROM ({columns} WHERE guild_id = ? AND topic = ? AND quotable = 1{in_scope}{order})")
            params += [topic, where_guild, topic, *scope_params, CANDIDATES_PER_TOPIC + seen]
        where = f" WHERE guild_id IN (?, ?) AND topic = ? AND quotable = 1{in_scope}"
        keys = sorted(k for k in match.keys.get(topic, ()) if k)
        if keys:
            any_key = " OR ".join("instr(' ' || keys || ' ', ?) > 0" for _ in keys)
            selects.append(f"SELECT * FROM ({columns}{where} AND ({any_key}){order})")
            params += [topic, topics.COMMENTS_GUILD, guild_id, topic, *scope_params, *[f" {k} " for k in keys],
                       CANDIDATES_PER_TERM + seen]
    # Words looked for in the text itself come in the same trip to the database: (NULL, source,
    # id, NULL, NULL, text, stored flag) rows.
    text_selects, text_params = _free_text_selects(guild_id, match.search_terms, scope)
    selects += [f"SELECT NULL, source, item_id, NULL, NULL, text, flagged FROM ({q})" for q in text_selects]
    params += text_params
    text_rows = []
    if selects:
        for asked, source, item_id, score, length, keys, sensitive in await _rows(db, " UNION ALL ".join(selects), params):
            if asked is None:
                text_rows.append((source, item_id, keys, sensitive))
                continue
            c = found.get((source, item_id))
            if c is None:
                c = found[(source, item_id)] = _Candidate(source, item_id)
            if sensitive:
                c.sensitive = True
            c.topic_scores[asked] = _density(score, length)
            if wanted[asked]:
                hits = wanted[asked].intersection(keys.split())
                if hits:
                    c.keys.setdefault(asked, set()).update(hits)
    if text_rows:
        by_text = _free_text_hits(text_rows, match.search_terms)
        for ident, (text, hits, flagged) in by_text.items():
            c = found.get(ident)
            if c is None:
                c = found[ident] = _Candidate(*ident)
                # Texts without topics have no stored flag: ask the detector.
                c.sensitive = bool(flagged) if flagged is not None else _facts(text).crisis
            c.free_hits |= hits & set(match.free_terms)
            for topic, words in match.text_terms.items():
                c.keys.setdefault(topic, set()).update(TEXT_KEY + w for w in hits & words)

    parts = _parts(match)
    for c in found.values():
        coverage = 0
        direct = 0.0
        for topic, keys in parts:
            found_here = len(keys & _found_keys(c, topic))
            # A part is answered by its words in the text, or (a topic) by the text's stored tag.
            if found_here or (topic and topic in c.topic_scores):
                coverage += 1
            # It speaks to the search when it says what was asked ("pregnancy", "brain fog"), or
            # carries a topic asked for as a whole ("sleep", "insomnia"): a hot flash is not
            # pregnancy, though both are hormones.
            if found_here or (topic and topic in c.topic_scores and "" in match.keys.get(topic, ())):
                c.speaks = True
            # Each part found word for word counts once, a little more when several of its words are.
            if found_here:
                direct += 1 + 0.2 * (found_here - 1)
        topic_part = 0.0
        for t in match.topics:
            topic_part += c.topic_scores.get(t, 0.0)
        c.coverage = coverage
        c.relevance = topic_part + DIRECT_BONUS * direct
    return found


def _fts_terms(free_terms: tuple[str, ...]) -> str:
    """An FTS5 query: any of the words, each as a prefix of the indexed (porter-stemmed) words."""
    parts = []
    for term in free_terms:
        clean = re.sub(r"[^\w]", "", term)
        if clean:
            parts.append(f'"{clean}"*' if len(clean) >= 3 else f'"{clean}"')
    return " OR ".join(parts)


def _term_hits(text: str, terms: tuple[str, ...]) -> set[str]:
    """Which of the searched stems occur in `text`: a word whose stem is the term, or (for terms
    of four letters or more) starts with it, as in the FTS5 prefix query."""
    lowered = topics.matching_text(text).lower()  # emphasis marks and named titles do not count
    hits = set()
    for term in terms:
        start = term[:3]
        if start not in lowered:
            continue  # a stem begins like its word: most texts are ruled out here
        for m in re.finditer(r"\b" + re.escape(start) + r"[\w'’]*", lowered):
            s = topics.stem(m.group())
            if s == term or (len(term) >= 4 and s.startswith(term)):
                hits.add(term)
                break
    return hits


# The stored self-harm flag of a text, NULL when it has no topics.
_FLAG_SQL = "(SELECT MAX(sensitive) FROM topic_tags t WHERE t.source = '{source}' AND t.item_id = {item})"


def _free_text_selects(guild_id: int, terms: tuple[str, ...],
                       scope: _Scope = EVERY_ARTICLE) -> tuple[list[str], list]:
    """Queries for the comments and this server's posts that contain the words, each giving
    (source, item_id, text, flagged) rows."""
    selects: list[str] = []
    params: list = []
    fts = _fts_terms(terms)
    if fts:
        in_scope, scope_params = scope.comments_sql("c.id")
        selects.append(
            f"SELECT 'comment' AS source, c.id AS item_id, c.text AS text,"
            f" {_FLAG_SQL.format(source='comment', item='c.id')} AS flagged"
            " FROM comments_fts JOIN comments c ON c.id = comments_fts.rowid"
            f" WHERE comments_fts MATCH ?{in_scope} ORDER BY bm25(comments_fts) LIMIT ?")
        params += [fts, *scope_params, FREE_TEXT_MATCHES]
    likes = [t for t in terms if len(t) >= 3]
    if likes:
        condition = " OR ".join("p.text LIKE ?" for _ in likes)
        # The newest approved posts of this server only, read from the (guild, state, urgent, id)
        # index backwards; their text is read one row at a time until enough match.
        selects.append(
            f"SELECT 'post' AS source, p.id AS item_id, p.text AS text,"
            f" {_FLAG_SQL.format(source='post', item='p.id')} AS flagged"
            " FROM (SELECT id FROM posts WHERE guild_id = ? AND state = 'approved'"
            " ORDER BY urgent, id DESC LIMIT ?) AS recent JOIN posts p ON p.id = recent.id"
            f" WHERE {condition} LIMIT ?")
        params += [guild_id, FREE_TEXT_SCAN_POSTS, *[f"%{t}%" for t in likes], FREE_TEXT_MATCHES]
    return selects, params


def _free_text_hits(rows, terms: tuple[str, ...]) -> dict[tuple[str, int], tuple[str, set[str], int | None]]:
    """Of (source, item_id, text, flagged) rows, those whose words really hold a searched stem:
    {ident: (text, words, flag)}."""
    out = {}
    for source, item_id, text, flagged in rows:
        hits = _term_hits(text, terms)
        if hits:
            out[(source, item_id)] = (text, hits, flagged)
    return out


async def _free_text_matches(db: Database, guild_id: int, terms: tuple[str, ...], scope: _Scope = EVERY_ARTICLE):
    """Comments and this server's posts that contain the words: {ident: (text, words, flag)}."""
    selects, params = _free_text_selects(guild_id, terms, scope)
    if not selects:
        return {}
    rows = await _rows(db, " UNION ALL ".join(f"SELECT * FROM ({q})" for q in selects), params)
    return _free_text_hits(rows, terms)


async def _history(db: Database, guild_id: int, user_id: int, channel_id: int | None,
                   another_of: str | None) -> tuple[set[tuple[str, int]], tuple[str, int] | None]:
    """What this member was shown for the search `another_of` (when paging), and the last quote
    this channel was given."""
    selects, params = [], []
    if channel_id is not None:
        selects.append("SELECT * FROM (SELECT 'last' AS kind, source, item_id FROM quote_history"
                       " WHERE guild_id = ? AND channel_id = ? ORDER BY id DESC LIMIT 1)")
        params += [guild_id, channel_id]
    if another_of is not None:
        selects.append("SELECT 'seen' AS kind, source, item_id FROM quote_seen"
                       " WHERE guild_id = ? AND user_id = ? AND query_key = ?")
        params += [guild_id, user_id, another_of]
    seen, last = set(), None
    if selects:
        # What was shown is sometimes still being written (see `find_quotes`): wait for it.
        await records_written(db, guild_id)
        for kind, source, item_id in await _rows(db, " UNION ALL ".join(selects), params):
            if kind == "last":
                last = (source, item_id)
            else:
                seen.add((source, item_id))
    return seen, last


async def _record(db: Database, guild_id: int, user_id: int, channel_id: int | None, key: str,
                  shown: list[tuple[str, int]], *, fresh: bool) -> None:
    now = utcnow()
    async with db.transaction() as tx:
        if fresh:
            await tx.execute(
                "DELETE FROM quote_seen WHERE guild_id = ? AND user_id = ? AND query_key = ?",
                (guild_id, user_id, key),
            )
        await tx.executemany(
            "INSERT OR IGNORE INTO quote_seen(guild_id, user_id, query_key, source, item_id, shown_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(guild_id, user_id, key, source, item_id, now) for source, item_id in shown],
        )
        await tx.executemany(
            "INSERT INTO quote_history(guild_id, channel_id, user_id, source, item_id, shown_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(guild_id, channel_id, user_id, source, item_id, now) for source, item_id in shown],
        )


# Records of what was shown that are still being written, per database and server. A search that
# reads the history of its server waits for them first, so "Another" never repeats a quote and
# the channel tie-break sees the last one, however soon the next search comes.
_WRITING: "weakref.WeakKeyDictionary[Database, dict[int, set[asyncio.Task]]]" = weakref.WeakKeyDictionary()


def _record_in_background(db: Database, guild_id: int, *args, **kwargs) -> None:
    async def write() -> None:
        try:
            await _record(db, guild_id, *args, **kwargs)
        except Exception:  # the reply was sent; at worst "Another" may offer this quote again
            log.warning("could not record which quotes were shown", exc_info=True)

    per_guild = _WRITING.setdefault(db, {})
    tasks = per_guild.setdefault(guild_id, set())
    task = asyncio.get_running_loop().create_task(write(), name="quotes-record")
    tasks.add(task)

    def done(t: asyncio.Task) -> None:
        tasks.discard(t)
        if not tasks and per_guild.get(guild_id) is tasks:
            del per_guild[guild_id]

    task.add_done_callback(done)


async def records_written(db: Database, guild_id: int | None = None) -> None:
    """Wait until every record of shown quotes started so far (in this server, or in all) is
    committed. The cog calls it before the database closes."""
    per_guild = _WRITING.get(db) or {}
    tasks = set(per_guild.get(guild_id, ())) if guild_id is not None else {t for ts in per_guild.values() for t in ts}
    if tasks:
        await asyncio.wait(tasks)


async def record_shared(db: Database, *, guild_id: int, channel_id: int, user_id: int, source: str,
                        item_id: int) -> None:
    """A quote shared to a channel ("Share here"): remembered like one shown there, so that the
    channel is not given it again by the next search."""
    if source not in ("comment", "post"):
        raise QuoteNotFound("That quote could not be found.")
    await records_written(db, guild_id)  # keep the channel's quotes in the order they were shown
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO quote_history(guild_id, channel_id, user_id, source, item_id, shown_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, channel_id, user_id, source, int(item_id), utcnow()),
        )


# -- building quotes ------------------------------------------------------------------------

@dataclass
class _Item:
    text: str
    author: str
    origin: str
    topics: tuple[str, ...] = ()
    stored_sensitive: bool = False


async def _items(db: Database, guild_id: int, idents: list[tuple[str, int]], *,
                 with_topics: bool = True, scope: _Scope = EVERY_ARTICLE) -> dict[tuple[str, int], _Item]:
    """Text, author and topics (strongest first) of comments (of the articles in `scope`) and of
    this server's approved posts (others are left out), in one query."""
    selects, params = [], []
    comment_ids = [i for s, i in idents if s == "comment"]
    post_ids = [i for s, i in idents if s == "post"]
    if comment_ids:
        marks = ",".join("?" * len(comment_ids))
        in_scope, scope_params = scope.comments_sql("c.id")
        # The article's title rides in the last column, which tag rows use for their score.
        selects.append("SELECT 'text', 'comment', c.id, c.author, 0, c.text, a.title FROM comments c"
                       f" JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks}){in_scope}")
        params += [*comment_ids, *scope_params]
    if post_ids:
        marks = ",".join("?" * len(post_ids))
        selects.append("SELECT 'text', 'post', id, author_name, anonymous, text, NULL FROM posts"
                       f" WHERE id IN ({marks}) AND guild_id = ? AND state = 'approved'")
        params += [*post_ids, guild_id]
    if with_topics:
        for source, ids in (("comment", comment_ids), ("post", post_ids)):
            if ids:
                selects.append("SELECT 'tag', source, item_id, topic, sensitive, NULL, score FROM topic_tags"
                               f" WHERE source = ? AND item_id IN ({','.join('?' * len(ids))})")
                params += [source, *ids]
    if not selects:
        return {}
    out: dict[tuple[str, int], _Item] = {}
    tags: dict[tuple[str, int], list[tuple[float, str]]] = {}
    sensitive: set[tuple[str, int]] = set()
    for kind, source, item_id, name, flag, text, score in await _rows(db, " UNION ALL ".join(selects), params):
        ident = (source, item_id)
        if kind == "tag":
            tags.setdefault(ident, []).append((-score, name))
            if flag:
                sensitive.add(ident)
        elif source == "comment":
            origin = ORIGIN_ARTICLE.format(title=score) if scope.named else ORIGIN_COMMENTS
            out[ident] = _Item(text, name or ANONYMOUS_READER, origin)
        else:
            shown_name = None if flag else (name or "").strip()
            out[ident] = _Item(text, shown_name or ANONYMOUS_MEMBER, ORIGIN_COMMUNITY)
    for ident, item in out.items():
        item.topics = tuple(topic for _score, topic in sorted(tags.get(ident, ())))
        item.stored_sensitive = ident in sensitive
    return out


async def _build_quotes(db: Database, guild_id: int, batch: list[_Candidate], match: topics.QueryMatch,
                        scope: _Scope = EVERY_ARTICLE) -> list[Quote]:
    items = await _items(db, guild_id, [c.ident for c in batch], scope=scope)
    out = []
    tax = topics.taxonomy()
    typed = _typed_words(match.text)
    for c in batch:
        item = items.get(c.ident)
        if item is None or not item.text.strip():
            continue
        text = item.text
        facts = _facts(text)
        if facts.crisis and not c.sensitive:
            # The safety detector learnt something since the text was tagged: check again.
            c.sensitive = True
            if not _may_offer(c, match):
                continue
        excerpt, trimmed = excerpt_for(text, match)
        matched = [tax.readable_term(t, k) for t in match.topics for k in sorted(match.keys.get(t, ()))
                   if k and k in c.keys.get(t, ())]
        matched += [typed.get(k[1:], k[1:]) for t in match.topics for k in sorted(c.keys.get(t, ()))
                    if k.startswith(TEXT_KEY)]
        matched += [typed.get(w, w) for w in match.free_terms if w in c.free_hits]
        out.append(Quote(
            source=c.source, item_id=c.item_id, author_label=item.author, origin_label=item.origin,
            topics=item.topics, excerpt=excerpt, full_text=text,
            trimmed=trimmed, sensitive=c.sensitive or facts.crisis,
            cure_note=facts.cure_note, matched=tuple(dict.fromkeys(matched)),
        ))
    return out


def _typed_words(text: str) -> dict[str, str]:
    """Stem -> the word as the member typed it."""
    return {topics.stem(w): w for w in reversed(words(text))}


async def get_quote(db: Database, source: str, item_id: int, guild_id: int) -> Quote:
    """One quote in full ("read in full"). A post from another server, or one no longer
    approved, is not returned: `QuoteNotFound`."""
    if source not in ("comment", "post"):
        raise QuoteNotFound("That quote could not be found.")
    scope = await _scope(db, guild_id) if source == "comment" else EVERY_ARTICLE
    item = (await _items(db, guild_id, [(source, int(item_id))], scope=scope)).get((source, int(item_id)))
    if item is None or not item.text.strip():
        raise QuoteNotFound("That quote is no longer available: it may have been withdrawn.")
    text = item.text
    facts = _facts(text)
    return Quote(
        source=source, item_id=int(item_id), author_label=item.author, origin_label=item.origin,
        topics=item.topics, excerpt=text, full_text=text, trimmed=False,
        sensitive=item.stored_sensitive or facts.crisis, cure_note=facts.cure_note,
    )


# -- excerpts -------------------------------------------------------------------------------

def _score_of_topics(tags, match: topics.QueryMatch) -> float:
    """How strongly a passage with these topic tags, (topic, score, keys), speaks of the search."""
    score = 0.0
    for topic, tag_score, keys in tags:
        if topic in match.topics:
            score += tag_score
            score += DIRECT_BONUS * len(match.keys.get(topic, frozenset()) & keys)
    return score


def _passage_score(passage: str, match: topics.QueryMatch, tags=None) -> float:
    """How well a passage matches the search; `tags` are its topic tags when already known."""
    if tags is None:
        tags = [(t.topic, t.score, frozenset(t.keys)) for t in topics.taxonomy().analyse(passage)]
    return _score_of_topics(tags, match) + DIRECT_BONUS * len(_term_hits(passage, match.search_terms))


def excerpt_for(text: str, match: topics.QueryMatch, limit: int = EXCERPT_LIMIT) -> tuple[str, bool]:
    """The passage of `text` that best matches the search, cut at sentence boundaries to at most
    `limit` characters (an ellipsis marks each cut). Returns (excerpt, trimmed).

    Where to cut is remembered per text and search, and the topics of each sentence per text."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    digest = text_digest(text)
    key = (digest, _match_key(match), limit)
    cut = _EXCERPTS.get(key)
    if cut is None:
        cut = _excerpt_cut(text, _sentences(text, digest), match, limit)
        _EXCERPTS.put(key, cut)
    return _apply_cut(text, cut), True


# Where an excerpt is cut: (start, end, None) for text[start:end] with an ellipsis on each cut
# side, or (start, end, room) for text[start:end] trimmed to `room` characters by `trim_to`.
_Cut = tuple[int, int, "int | None"]


def _apply_cut(text: str, cut: _Cut) -> str:
    start, end, room = cut
    if room is not None:
        return trim_to(text[start:end], room)
    return ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")


def _excerpt_cut(text: str, sentences: tuple[_SentenceTopics, ...], match: topics.QueryMatch, limit: int) -> _Cut:
    if not sentences:
        return 0, len(text), limit
    spans = [(s.start, s.end) for s in sentences]
    scores = [_passage_score(text[s.start:s.end], match, s.tags) for s in sentences]
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


def _window_in_sentence(text: str, s: int, e: int, match: topics.QueryMatch, room: int) -> str:
    """A sentence longer than the limit: a window of whole words around its first matching word."""
    return _apply_cut(text, _window_cut(text, s, e, match, room))


def _window_cut(text: str, s: int, e: int, match: topics.QueryMatch, room: int) -> _Cut:
    spans = [(a + s, b + s) for a, b in word_spans(text[s:e])]
    if not spans:
        return s, e, room
    focus = 0
    for i, (a, b) in enumerate(spans):
        if _passage_score(text[a:b], match) > 0:
            focus = i
            break
    # Start a little before the match so that it reads in context.
    start = max(s, spans[focus][0] - room // 4)
    first = next(i for i, (a, _b) in enumerate(spans) if a >= start)
    last = first
    while last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= room:
        last += 1
    return spans[first][0], spans[last][1], None


# -- topics with counts ---------------------------------------------------------------------

def _sensitive_topics() -> tuple[str, ...]:
    return tuple(t.name for t in topics.taxonomy().topics.values() if t.allows_sensitive) or ("",)


async def topic_counts(db: Database, guild_id: int, *, samples: bool = True) -> list[TopicCount]:
    """Every topic with how many quotes this server can be offered under it (the article's
    comments and the server's approved posts), in the taxonomy's order. `samples=False` skips
    the sample phrases (autocomplete needs only the counts)."""
    tax = topics.taxonomy()
    allowed = _sensitive_topics()
    marks = ",".join("?" * len(allowed))
    scope = await _scope(db, guild_id)
    in_scope, scope_params = scope.tags_sql()
    rows = await _rows(
        db,
        "SELECT topic, COUNT(*) AS n FROM topic_tags WHERE guild_id IN (?, ?) AND quotable = 1"
        f" AND (sensitive = 0 OR topic IN ({marks})){in_scope} GROUP BY topic",
        (topics.COMMENTS_GUILD, guild_id, *allowed, *scope_params),
    )
    counts = {r["topic"]: r["n"] for r in rows}
    phrases: dict[str, tuple[str, str | None]] = {}
    if samples:
        phrases = await _sample_phrases(db, guild_id, scope)
    return [
        TopicCount(name=t.name, title=t.title, description=t.description, count=counts.get(t.name, 0),
                   sample_phrase=phrases.get(t.name, ("", None))[0], sample_note=phrases.get(t.name, ("", None))[1])
        for t in tax.topics.values()
    ]


async def _sample_phrases(db: Database, guild_id: int, scope: _Scope = EVERY_ARTICLE) -> dict[str, tuple[str, str | None]]:
    """Per topic, a line of its best quote and the evidence note when that line claims a cure."""
    in_scope, scope_params = scope.tags_sql()
    rows = await _rows(
        db,
        "SELECT topic, source, item_id FROM ("
        " SELECT topic, source, item_id, ROW_NUMBER() OVER ("
        f"  PARTITION BY topic ORDER BY {_DENSITY_SQL} DESC, source, item_id) AS place"
        f" FROM topic_tags WHERE guild_id IN (?, ?) AND quotable = 1 AND sensitive = 0{in_scope})"
        " WHERE place = 1",
        (topics.COMMENTS_GUILD, guild_id, *scope_params),
    )
    texts = await _items(db, guild_id, [(r["source"], r["item_id"]) for r in rows], with_topics=False, scope=scope)
    out = {}
    for r in rows:
        item = texts.get((r["source"], r["item_id"]))
        if item is None:
            continue
        match = topics.QueryMatch(text=r["topic"], topics=(r["topic"],), keys={r["topic"]: frozenset({""})},
                                  topic_only=True)
        line = sample_phrase(item.text, match)
        out[r["topic"]] = (line, _line_note(line, item.text))
    return out


# Words that carry a cure claim's subject. A line shown on its own gets an evidence note only when it
# speaks of one: the models read whole posts, and a line cut from one can look like a claim it is not.
_CLAIM_WORDS = re.compile(r"\bcur(?:e|ed|es|ing)\b|revers|guai|\bheal|remission|protocol|miracle|\bgone\b|\bfixed\b",
                          re.IGNORECASE)


def _line_note(line: str, text: str) -> str | None:
    """The evidence note a line shown on its own needs: when it speaks of a cure and makes the claim
    itself, or shows the claim of the text it comes from ("he talks about reversing the disease with
    guaifenesin" reports what the whole comment promotes)."""
    if not _CLAIM_WORDS.search(line):
        return None
    return _facts(line).cure_note or _facts(text).cure_note


def sample_phrase(text: str, match: topics.QueryMatch, limit: int = SAMPLE_PHRASE_LIMIT) -> str:
    """The sentence of `text` that speaks most of the topic, shortened to `limit`."""
    spans = sentence_spans(text.strip()) or [(0, len(text.strip()))]
    body = text.strip()
    best = max(spans, key=lambda se: (_passage_score(body[se[0]:se[1]], match), -se[0]))
    s, e = best
    if e - s <= limit:
        return body[s:e]
    return _window_in_sentence(body, s, e, match, limit - 2)


def autocomplete_topics(counts: list[TopicCount], typed: str) -> list[tuple[str, str]]:
    """Choices for the topic option: (shown name, value), at most 25, each 1-100 characters.

    Topics whose name or alias starts with what was typed, or that a search for it would use
    (then whose names contain it, or nearly spell it), most quoted first, each with its count;
    and what was typed, offered as a free-text search.
    """
    tax = topics.taxonomy()
    q = " ".join(fold(typed or "").split())[:MAX_QUERY_LENGTH]
    # The topics a search for the typed words would use ("gluten" -> diet, "opiods" -> medication).
    read_as = set(topics.match_query(q).topics) if q else set()
    # Topics one of whose strong words begins with what was typed ("gl" -> diet, through "gluten").
    suggested = topics.suggest(q) if q else {}
    scored = []
    for c in counts:
        t = tax.topics.get(c.name)
        if t is None:
            continue
        labels = [fold(t.name), fold(t.title)]
        aliases = [fold(a) for a in t.aliases]
        hint = ""
        if not q:
            rank = 0
        elif any(label.startswith(q) for label in labels):
            rank = 0
        elif any(word.startswith(q) for label in labels for word in label.split()):
            rank = 1
        elif (alias := next((a for a in aliases if a.startswith(q)), None)) is not None:
            rank, hint = 2, alias
        elif t.name in suggested:
            rank, hint = 2, suggested[t.name]
        elif t.name in read_as:
            rank = 2
        elif any(q in label for label in labels + aliases):
            rank = 3
        elif len(q) >= 3 and max(fuzz.partial_ratio(q, label) for label in labels + aliases) >= 80:
            rank = 4
        else:
            continue
        scored.append((rank, -c.count, t.name, c, hint))
    scored.sort(key=lambda x: x[:3])
    choices: list[tuple[str, str]] = []
    for _rank, _n, _name, c, hint in scored[:24]:
        n = f"{c.count} quote" + ("" if c.count == 1 else "s")
        label = f"{c.title} ({n})" + (f", for “{hint}”" if hint else "")
        choices.append((_fit(label), c.name))
    typed_value = (typed or "").strip()
    if q and q not in {fold(c.name) for c in counts}:
        value = typed_value[:100].strip() or q[:100]
        free = (_fit(f"Search for “{value}”"), value)
        # What was typed goes first when no topic looks like it, last otherwise.
        choices = [free] + choices if not scored or scored[0][0] >= 3 else choices + [free]
    return choices[:25]


def _fit(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- nearest topics and privacy -------------------------------------------------------------

async def _nearest(db: Database, guild_id: int, query: str, match: topics.QueryMatch, limit: int = 3,
                   exclude_topic_only: bool = False) -> list[str]:
    """Topics to suggest when few or no texts speak to the search: the topics the search was read
    as (a search for "pregnancy" leads to Hormones), those that look most like it, then the ones
    with the most quotes; never a topic with nothing to show."""
    counts = {c.name: c.count for c in await topic_counts(db, guild_id, samples=False)}
    read_as = [] if exclude_topic_only else [t for t in match.topics if counts.get(t)]
    out = read_as + [t for t in topics.taxonomy().nearest_topics(query, limit=limit * 2)
                     if counts.get(t) and t not in read_as]
    for name, _n in sorted(counts.items(), key=lambda kv: -kv[1]):
        if len(out) >= limit:
            break
        if _n and name not in out:
            out.append(name)
    return out[:limit]


async def export_member_rows(conn: Any, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """What /quote remembers about a member, as JSON-ready data: kept so that "Another" does not
    repeat itself, and pruned after a few weeks."""
    searches = await conn.execute_fetchall(
        "SELECT DISTINCT guild_id, query_key FROM quote_seen WHERE user_id = ? ORDER BY guild_id, query_key",
        (user_id,),
    )
    shown = await conn.execute_fetchall(
        "SELECT guild_id, channel_id, source, item_id, shown_at FROM quote_history WHERE user_id = ? ORDER BY id",
        (user_id,),
    )
    return {
        "quote_searches_remembered": [{"server_id": discord_id(r["guild_id"]), "search": r["query_key"]}
                                      for r in searches],
        "quotes_shown_to_you": [
            {"server_id": discord_id(r["guild_id"]), "channel_id": discord_id(r["channel_id"]), "source": r["source"],
             "item_id": r["item_id"], "at": r["shown_at"]}
            for r in shown
        ],
    }


async def forget_member(tx, user_id: int) -> None:
    """Delete what quotes a member was shown, inside the caller's transaction ("forget me")."""
    await tx.execute("DELETE FROM quote_seen WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM quote_history WHERE user_id = ?", (user_id,))


async def prune_history(db: Database, *, keep_days: int = 30) -> int:
    """Forget quote history older than `keep_days`; returns the rows removed."""
    cutoff = f"-{int(keep_days)} days"
    async with db.transaction() as tx:
        a = await tx.execute(
            "DELETE FROM quote_seen WHERE shown_at < strftime('%Y-%m-%dT%H:%M:%S', 'now', ?)", (cutoff,))
        b = await tx.execute(
            "DELETE FROM quote_history WHERE shown_at < strftime('%Y-%m-%dT%H:%M:%S', 'now', ?)", (cutoff,))
        return (a.rowcount or 0) + (b.rowcount or 0)
