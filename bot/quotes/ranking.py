"""Candidates for a search and their relevance: the stored topic tags per server and topic, the
words looked for in the text itself, and how much of the search each text answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot import topics
from bot.quotes.history import LAST, SEEN, ShownQuery
from bot.quotes.model import DENSITY_SQL, DIRECT_BONUS, density, fetch_rows
from bot.quotes.source import EVERY_ARTICLE, Scope
from bot.quotes.texts import facts_of
from bot.storage import Database


# How many tagged texts per topic (and per term asked for) are considered for one search, best
# first, plus as many as the member has already been shown: "Another" pages on past them.
CANDIDATES_PER_TOPIC = 60
CANDIDATES_PER_TERM = 60
# Words the taxonomy does not know are looked for in this many of the server's newest approved
# posts: a bounded scan, whatever the size of the server.
FREE_TEXT_SCAN_POSTS = 2000
FREE_TEXT_MATCHES = 50

@dataclass(slots=True)
class Candidate:
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


def _found_keys(c: Candidate, topic: str) -> set[str] | frozenset[str]:
    return c.free_hits if topic == "" else c.keys.get(topic, _NONE)


def _matches_every_part(c: Candidate, match: topics.QueryMatch) -> bool:
    parts = _parts(match)
    if match.topic_only or not parts:
        return False
    return all(keys and keys & _found_keys(c, topic) for topic, keys in parts)


def may_offer(c: Candidate, match: topics.QueryMatch) -> bool:
    """Quotes about self-harm are never a pick for an unrelated topic."""
    if not c.sensitive:
        return True
    tax = topics.taxonomy()
    if any(tax.topics[t].allows_sensitive for t in match.topics):
        return True
    return _matches_every_part(c, match)


async def gather_candidates(db: Database, guild_id: int, match: topics.QueryMatch, scope: Scope = EVERY_ARTICLE,
                            shown: ShownQuery | None = None) -> dict[tuple[str, int], Candidate]:
    """Everything that may answer the search, with its relevance. In the same trip to the
    database, `shown` is told what the member was already shown for the search (so that
    "Another" pages past the first candidates) and the last quote the channel was given."""
    found: dict[tuple[str, int], Candidate] = {}
    seen_count, seen_params = shown.seen_count_sql() if shown is not None else ("", [])
    # Of a text's stored keys only those the search asked for matter (ranking, "matched"): the
    # rest are not kept.
    wanted = {t: frozenset(k for k in match.keys.get(t, ()) if k) for t in match.topics}

    # One query: per topic, its best texts, and the texts that use the very terms asked for
    # (even when the topic's best texts are many). A text may come twice; it is taken once.
    selects, params = [], []
    columns = "SELECT ? AS asked, source, item_id, score, length, keys, sensitive FROM topic_tags"
    order = f" ORDER BY {DENSITY_SQL} DESC LIMIT ?{seen_count}"
    in_scope, scope_params = scope.tags_sql()
    for topic in match.topics:
        # The comments' best and this server's best, each read in order from topic_tags_rank.
        for where_guild in (topics.COMMENTS_GUILD, guild_id):
            selects.append(f"SELECT * FROM ({columns} WHERE guild_id = ? AND topic = ? AND quotable = 1{in_scope}{order}) AS best")
            params += [topic, where_guild, topic, *scope_params, CANDIDATES_PER_TOPIC, *seen_params]
        where = f" WHERE guild_id IN (?, ?) AND topic = ? AND quotable = 1{in_scope}"
        keys = sorted(k for k in match.keys.get(topic, ()) if k)
        if keys:
            any_key = " OR ".join(db.dialect.contains("' ' || keys || ' '") for _ in keys)
            selects.append(f"SELECT * FROM ({columns}{where} AND ({any_key}){order}) AS by_term")
            params += [topic, topics.COMMENTS_GUILD, guild_id, topic, *scope_params, *[f" {k} " for k in keys],
                       CANDIDATES_PER_TERM, *seen_params]
    # Words looked for in the text itself come in the same trip to the database: (NULL, source,
    # id, NULL, NULL, text, stored flag) rows.
    text_selects, text_params = _free_text_selects(db.dialect, guild_id, match.search_terms, scope)
    selects += [f"SELECT CAST(NULL AS TEXT), source, item_id, CAST(NULL AS REAL), CAST(NULL AS INTEGER), text, flagged"
                f" FROM ({q}) AS by_text" for q in text_selects]
    params += text_params
    if shown is not None:
        shown_selects, shown_params = shown.rows_sql()
        selects += shown_selects
        params += shown_params
    text_rows = []
    if selects:
        for asked, source, item_id, score, length, keys, sensitive in await fetch_rows(db, " UNION ALL ".join(selects), params):
            if asked is None:
                text_rows.append((source, item_id, keys, sensitive))
                continue
            if asked == SEEN and shown is not None:
                shown.seen.add((source, item_id))
                continue
            if asked == LAST and shown is not None:
                shown.last = (source, item_id)
                continue
            c = found.get((source, item_id))
            if c is None:
                c = found[(source, item_id)] = Candidate(source, item_id)
            if sensitive:
                c.sensitive = True
            c.topic_scores[asked] = density(score, length)
            if wanted[asked]:
                hits = wanted[asked].intersection(keys.split())
                if hits:
                    c.keys.setdefault(asked, set()).update(hits)
    if text_rows:
        by_text = _free_text_hits(text_rows, match.search_terms)
        for ident, (text, hits, flagged) in by_text.items():
            c = found.get(ident)
            if c is None:
                c = found[ident] = Candidate(*ident)
                # A comment without topics (or an old post) has no stored flag: ask the detector.
                c.sensitive = bool(flagged) if flagged is not None else facts_of(text).crisis
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


def term_hits(text: str, terms: tuple[str, ...]) -> set[str]:
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


# The stored self-harm flag of a comment `c`, NULL when it has no topics.
_COMMENT_FLAG_SQL = "(SELECT MAX(sensitive) FROM topic_tags t WHERE t.source = 'comment' AND t.item_id = c.id)"


def _free_text_selects(dialect: Any, guild_id: int, terms: tuple[str, ...],
                       scope: Scope = EVERY_ARTICLE) -> tuple[list[str], list]:
    """Queries for the comments and this server's posts that contain the words, each giving
    (source, item_id, text, flagged) rows."""
    selects: list[str] = []
    params: list = []
    # Any of the words, each as a prefix of the indexed (stemmed) words.
    fts = dialect.prefix_query(terms)
    if fts:
        in_scope, scope_params = scope.comments_sql("c.id")
        selects.append(
            f"SELECT 'comment' AS source, c.id AS item_id, c.text AS text,"
            f" {_COMMENT_FLAG_SQL} AS flagged"
            f"{dialect.comment_search(in_scope)} LIMIT ?")
        params += [fts, *scope_params, FREE_TEXT_MATCHES]
    likes = [t for t in terms if len(t) >= 3]
    if likes:
        condition = " OR ".join(f"recent.text {dialect.like} ?" for _ in likes)
        # The newest approved posts of this server only, text and stored verdict included, read
        # from one index backwards (on SQLite posts_approved_text, migrations 0015 and 0016: the
        # server's posts are not each on a page of their own, and a match needs nothing read from
        # the table). The flag is the stored scan's verdict, NULL for a post never scanned. It is
        # the current detector's once start-up has re-scanned every post after a change of
        # detector; before that, build_quotes asks the detector again for every quote it builds.
        selects.append(
            "SELECT 'post' AS source, recent.id AS item_id, recent.text AS text, recent.scan_sensitive AS flagged"
            " FROM (SELECT id, text, scan_sensitive FROM posts WHERE guild_id = ? AND state = 'approved'"
            " ORDER BY urgent, id DESC LIMIT ?) AS recent"
            f" WHERE {condition} LIMIT ?")
        params += [guild_id, FREE_TEXT_SCAN_POSTS, *[f"%{t}%" for t in likes], FREE_TEXT_MATCHES]
    return selects, params


def _free_text_hits(rows, terms: tuple[str, ...]) -> dict[tuple[str, int], tuple[str, set[str], int | None]]:
    """Of (source, item_id, text, flagged) rows, those whose words really hold a searched stem:
    {ident: (text, words, flag)}."""
    out = {}
    for source, item_id, text, flagged in rows:
        hits = term_hits(text, terms)
        if hits:
            out[(source, item_id)] = (text, hits, flagged)
    return out


async def _free_text_matches(db: Database, guild_id: int, terms: tuple[str, ...], scope: Scope = EVERY_ARTICLE):
    """Comments and this server's posts that contain the words: {ident: (text, words, flag)}."""
    selects, params = _free_text_selects(db.dialect, guild_id, terms, scope)
    if not selects:
        return {}
    rows = await fetch_rows(db, " UNION ALL ".join(f"SELECT * FROM ({q}) AS by_text" for q in selects), params)
    return _free_text_hits(rows, terms)
