"""The topic taxonomy: which topics a text talks about, and which topics a member's search means.

The taxonomy is data (`bot/resources/topics.json`): each topic has a name, a description, aliases a
member may type, and weighted terms (words and phrases) that signal it. Matching works on word
stems, so "sleeping", "sleeps" and "sleep" are one term; longer phrases win over the words inside
them, and a few phrases are ignored ("tired of" is not fatigue). A text carries a topic when the
weights of the terms found add up to 1 or more, or to a half for a short text (under 20 words: "Cold
mornings are the worst for my legs." says in one line what a long comment says in ten). A member
post also carries the topic the member gave in the form when that names or clearly means one
("sleep", "insomnia", "meds").

Words that only name someone or something are not counted: a title before a proper name and what
the name is said to be ("written by Dr. Paul St. Amand, a doctor who had fibro" is not about the
writer's doctors; "my doctor", "the doctor" and "my dr" are), and the quoted title of a work ("the
book “what your doctor may not tell you”").

A text the safety detector reads as crisis language ("kms") carries the topic that may hold such
texts (mental health), even when none of its words is in the taxonomy.

Tags are stored (table `topic_tags`, migration 0003) when a comment or post is stored, and all of
them are recomputed at start-up when the taxonomy file changed.

Searches go through `match_query`: markdown emphasis is dropped ("__zumba__" is "zumba"), then topic
names and aliases, terms and phrases, then typo tolerance (rapidfuzz edit distance) for words the
taxonomy does not know exactly ("opiods", "fatige"). Crisis language ("kms", "want to die") reads as
the mental-health topic. Whatever is left is searched as plain text by `bot.quotes`.

`suggest(prefix)` gives the topics whose names, aliases or strong terms begin with what a member
has typed so far, for autocomplete ("gl" gives diet, through "gluten").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot import safety, safety_model, scans
from bot.storage import Database
from bot.text import STOPWORDS, fold, light_stem, words

log = logging.getLogger(__name__)

TAXONOMY_PATH = Path(__file__).resolve().parent / "resources" / "topics.json"
# Raised whenever the matching rules below change, so that stored tags are recomputed too.
MATCHER_VERSION = "4"
META_KEY = "topics.taxonomy_hash"
# Article comments belong to no server: every server sees them. Their tags use this guild id.
COMMENTS_GUILD = 0
TAG_THRESHOLD = 1.0
SHORT_TEXT_WORDS = 20        # a text shorter than this carries a topic at half the weight
SHORT_TAG_THRESHOLD = 0.5
MAX_COUNT_PER_TERM = 3
# When tagging, a word of at least 6 letters may match a term of at least 7 from a list marked
# "typos" that is one edit away ("opiods" -> "opioids"); searches are more forgiving ("slep").
FUZZY_MIN_LENGTH = 7


# -- the taxonomy ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Topic:
    name: str                  # what members type and what is stored: "sleep", "mental health"
    title: str                 # "Medication and opioids"
    description: str
    aliases: tuple[str, ...]
    allows_sensitive: bool     # quotes about self-harm may be offered under this topic


@dataclass(frozen=True)
class Signal:
    topic: str
    weight: float
    key: str                   # the term's group, or the term itself: counted once however many terms of a group occur
    term_key: str = ""         # for a term in a group, the term itself (also stored, so "massage" finds "massage" first)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, self.term_key) if self.term_key and self.term_key != self.key else (self.key,)


@dataclass(frozen=True)
class TopicTag:
    topic: str
    score: float
    keys: tuple[str, ...]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The form words are compared in: `light_stem`, then a final silent e dropped ("believe" ~
    "believed", "ache" ~ "aching") and apostrophes removed ("don't" ~ "dont"). Cached: the
    vocabulary of a community is small, and tagging a million posts stems the same words again
    and again."""
    s = light_stem(word)
    if len(s) > 3 and s.endswith("e"):
        s = s[:-1]
    return s.replace("'", "")


_JOINER = re.compile(r"(?<=\w)[-/](?=\w)")
# Discord markdown around words: **bold**, __underline__, _italic_, ~~struck~~, ||spoiler||, `code`.
_EMPHASIS = re.compile(r"[*_~|`]")
# A title before a proper name: "Dr. Marco Loggia", "Dr Paul St. Amand", "Doctor Ruth". Not after a
# word that makes it someone's own doctor ("my Dr. Patel"), and not in shouting ("MY DR IS GREAT").
# What the name is then said to be ("..., a doctor who had fibro") describes that person too.
_NAME_WORD = r"(?!(?:Dr|Drs|Prof|Doctor|Professor)\b)(?:[A-ZÀ-ÖØ-Þ]\.|[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’]+\.?)"
_TITLED_NAME = re.compile(
    r"(?<![\w.])(?P<title>(?:Dr|Drs|Prof)\b\.?|(?:Doctor|Professor)\b(?!\.))"
    rf"(?P<name>(?:\s+{_NAME_WORD})+)"
    r"(?P<role>,\s+(?:a|an)\s+(?:[a-z]+\s+)?(?:doctor|physician|rheumatologist|neurologist|specialist|"
    r"researcher|scientist|professor)\b)?")
_OWNER_BEFORE = re.compile(r"\b(?:my|our|your|his|her|their|the|mine|whose)\W*$", re.IGNORECASE)
# The quoted title of a work: the book “What your doctor may not tell you”. Its words are the
# title's, not the writer's.
_QUOTED_TITLE = re.compile(
    r"\b(?:book|books|called|titled|entitled|named|article|film|movie|documentary|video|website|blog|"
    r"podcast)\s*[:,]?\s*(?P<title>“[^”\n]{1,200}”|\"[^\"\n]{1,200}\"|«[^»\n]{1,200}»)",
    re.IGNORECASE)


def strip_emphasis(text: str) -> str:
    """`text` with markdown emphasis marks made spaces (same length), so that "__zumba__" or
    "*swimming*" reads as the word itself and an underscore never glues a mark to a word."""
    return _EMPHASIS.sub(" ", text)


def matching_text(text: str) -> str:
    """`text` as the matcher reads it, for looking for searched words in a text: markdown emphasis
    made spaces ("__zumba__" holds the word "zumba") and the words that only name someone or
    something left out ("written by Dr. Paul St. Amand" does not hold "dr"). Reading it again
    changes nothing."""
    return strip_emphasis(_without_names_and_titles(text))


def _without_names_and_titles(text: str) -> str:
    """Drop the words that only name someone or something: "Dr." before a name and what the name
    is said to be ("written by Dr. Paul St. Amand, a doctor who had fibro" is about a book's author,
    not about the writer's doctors), and the quoted title of a work ("the book “what your doctor
    may not tell you”"). The name itself stays ("St. Amand" is a term)."""
    if "Dr" in text or "Doctor" in text or "Prof" in text:
        def name_only(m: re.Match[str]) -> str:
            if _OWNER_BEFORE.search(text, max(0, m.start() - 16), m.start()):
                return m.group()
            return m.group("name") + ("," if m.group("role") else "")
        text = _TITLED_NAME.sub(name_only, text)
    if "“" in text or '"' in text or "«" in text:
        text = _QUOTED_TITLE.sub(lambda m: m.group()[: m.start("title") - m.start()] + " ", text)
    return text


def _prepare(text: str) -> str:
    # Plain ASCII needs only lower case (what `fold` would do to it, much faster);
    # hyphens join words that people also write apart ("gluten-free", "c-pap", "self-harm").
    folded = " ".join(text.lower().split()) if text.isascii() else fold(text)
    return _JOINER.sub(" ", folded)


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(_prepare(text))]


def _query_text(text: str) -> str:
    """A search or label as it is compared: folded, without markdown emphasis, single-spaced."""
    return " ".join(strip_emphasis(fold(text)).split())


def _key_of(term: str) -> str:
    return "_".join(stems(term))


class Taxonomy:
    """The loaded taxonomy with its term tables, built once."""

    def __init__(self, data: dict, digest: str):
        self.digest = digest
        self.topics: dict[str, Topic] = {}
        # Multi-word terms, by their first stem, longest first; one-word terms by stem.
        self._phrases: dict[str, list[tuple[tuple[str, ...], tuple[Signal, ...]]]] = {}
        self._words: dict[str, tuple[Signal, ...]] = {}
        # The same tables with aliases and topic names added, for reading searches.
        self._query_phrases: dict[str, list[tuple[tuple[str, ...], tuple[Signal, ...]]]] = {}
        self._query_words: dict[str, tuple[Signal, ...]] = {}
        self.term_of_key: dict[tuple[str, str], str] = {}  # (topic, key) -> a readable term

        tagging: dict[tuple[str, ...], list[Signal]] = {}
        query: dict[tuple[str, ...], list[Signal]] = {}
        for raw in data["topics"]:
            topic = Topic(
                name=raw["name"], title=raw.get("title", raw["name"]), description=raw["description"],
                aliases=tuple(raw.get("aliases", ())), allows_sensitive=bool(raw.get("allows_sensitive")),
            )
            if topic.name in self.topics:
                raise ValueError(f"topic {topic.name!r} appears twice in the taxonomy")
            self.topics[topic.name] = topic
            for group in raw["signals"]:
                weight = float(group["weight"])
                for term in group["terms"]:
                    seq = tuple(stems(term))
                    if not seq:
                        continue
                    term_key = _key_of(term)
                    key = (group.get("group") or term_key).replace(" ", "_")
                    signal = Signal(topic.name, weight, key, term_key if key != term_key else "")
                    tagging.setdefault(seq, []).append(signal)
                    for k in signal.keys:
                        self.term_of_key.setdefault((topic.name, k), term)
            # In a search, the topic's name and aliases mean the whole topic (an empty key).
            for alias in (topic.name, topic.title, *topic.aliases):
                seq = tuple(stems(alias))
                if seq:
                    query.setdefault(seq, []).append(Signal(topic.name, 1.0, ""))
        ignored = {tuple(stems(p)) for p in data.get("ignore", ())}
        for seq in ignored:
            tagging.setdefault(seq, [])

        for seq, signals in tagging.items():
            query.setdefault(seq, [])
            query[seq] = _merge(query[seq] + signals)
        tagging = {seq: _merge(signals) for seq, signals in tagging.items()}
        self._words, self._phrases = _tables(tagging)
        self._query_words, self._query_phrases = _tables(query)
        # Spellings typos are compared with, as written (folded), each with its stem: every
        # one-word term; for searches also every one-word alias and topic name.
        self._spellings = {}
        self._query_spellings = {}
        for raw in data["topics"]:
            for group in raw["signals"]:
                for term in group["terms"]:
                    if group.get("typos") and len(term) >= FUZZY_MIN_LENGTH:
                        self._add_spelling(self._spellings, term, tagging)
                    self._add_spelling(self._query_spellings, term, query)
            for alias in (raw["name"], *raw.get("aliases", ())):
                self._add_spelling(self._query_spellings, alias, query)
        self._fuzzy_words = sorted(self._spellings)
        self._fuzzy_query_words = sorted(self._query_spellings)
        self._choices = self._nearest_choices()

        # The topic that may hold texts about self-harm, and the keys of its terms that the safety
        # detector itself reads as crisis language ("suicide", "want to die"): a search or a text
        # in words of crisis the taxonomy does not know ("kms") is read as those.
        self.crisis_topic: str | None = next((t.name for t in self.topics.values() if t.allows_sensitive), None)
        self.crisis_keys: frozenset[str] = frozenset(
            sig.key for seq, signals in tagging.items() for sig in signals
            if sig.topic == self.crisis_topic and safety.is_crisis_search(" ".join(seq))
        )
        self._suggestions = self._suggestion_labels(data)

    @staticmethod
    def _add_spelling(spellings: dict[str, str], term: str, table: dict) -> None:
        forms = words(_prepare(term))
        if len(forms) == 1:
            seq = (stem(forms[0]),)
            if table.get(seq):
                spellings[forms[0]] = seq[0]

    # -- tagging --------------------------------------------------------------------------
    def analyse(self, text: str) -> list[TopicTag]:
        """Every topic whose terms occur in `text`, with its score and the terms found, strongest first.
        Topics below the threshold are included (see `tag`)."""
        found: dict[tuple[str, str], tuple[float, int]] = {}   # (topic, key) -> (weight, times found)
        keys: dict[str, set[str]] = {}
        raw = words(_prepare(_without_names_and_titles(text)))
        for signals in self._scan([stem(w) for w in raw], raw):
            for sig in signals:
                k = (sig.topic, sig.key)
                weight, times = found.get(k, (0.0, 0))
                found[k] = (max(weight, sig.weight), times + 1)
                keys.setdefault(sig.topic, set()).update(sig.keys)
        scores: dict[str, float] = {}
        for (topic, _key), (weight, times) in found.items():
            scores[topic] = scores.get(topic, 0.0) + weight * min(times, MAX_COUNT_PER_TERM)
        tags = [TopicTag(topic, round(score, 3), tuple(sorted(keys[topic]))) for topic, score in scores.items()]
        tags.sort(key=lambda t: (-t.score, t.topic))
        return tags

    def tag(self, text: str) -> list[TopicTag]:
        threshold = SHORT_TAG_THRESHOLD if len(words(text)) < SHORT_TEXT_WORDS else TAG_THRESHOLD
        return [t for t in self.analyse(text) if t.score >= threshold]

    def _scan(self, seq: list[str], raw: list[str]) -> Iterable[tuple[Signal, ...]]:
        """The signals found along a stem sequence (`raw` holds the words as written, for typos):
        longest phrase first, each word used once."""
        i, n = 0, len(seq)
        while i < n:
            word = seq[i]
            hit = _phrase_at(self._phrases, seq, i)
            if hit:
                phrase, signals = hit
                if signals:
                    yield signals
                i += len(phrase)
                continue
            signals = self._words.get(word)
            if signals is None:
                signals = self._fuzzy_tagging_word(raw[i])
            if signals:
                yield signals
            i += 1

    @lru_cache(maxsize=65536)
    def _fuzzy_tagging_word(self, word: str) -> tuple[Signal, ...] | None:
        close = _closest(word, self._fuzzy_words, FUZZY_MIN_LENGTH - 1)
        return self._words.get(self._spellings[close]) if close else None

    # -- searches -------------------------------------------------------------------------
    def match_query(self, query: str) -> "QueryMatch":
        return _match_query_cached(self, _query_text(query)[:200])

    def _nearest_choices(self) -> list[tuple[str, str]]:
        choices = []
        for t in self.topics.values():
            for label in (t.name, t.title, *t.aliases):
                choices.append((fold(label), t.name))
        for (topic, _key), term in self.term_of_key.items():
            choices.append((fold(term), topic))
        return choices

    def nearest_topics(self, text: str, limit: int = 3) -> list[str]:
        """The topics whose names, aliases or terms look most like `text`, for a "did you mean".
        Crisis language puts the topic for it first, whatever it looks like."""
        q = _query_text(text)
        if not q:
            return []
        labels = [label for label, _ in self._choices]
        best = process.extract(q, labels, scorer=fuzz.WRatio, limit=40, score_cutoff=50)
        out: list[str] = []
        if self.crisis_topic and safety.is_crisis_search(q):
            out.append(self.crisis_topic)
        for _label, _score, idx in best:
            topic = self._choices[idx][1]
            if topic not in out:
                out.append(topic)
        return out[:limit]

    def _suggestion_labels(self, data: dict) -> list[tuple[str, str, int]]:
        """(label, topic, kind) to complete typed text with: kind 0 for names, titles and aliases,
        1 for terms strong enough to carry the topic alone. Weak terms ("night", "book") are left
        out: they would offer a topic for words that are not about it."""
        labels: dict[tuple[str, str], int] = {}
        for raw in data["topics"]:
            topic = self.topics[raw["name"]]
            for label in (topic.name, topic.title, *topic.aliases):
                labels.setdefault((_query_text(label), topic.name), 0)
            for group in raw["signals"]:
                if float(group["weight"]) >= TAG_THRESHOLD:
                    for term in group["terms"]:
                        labels.setdefault((_query_text(term), topic.name), 1)
        return [(label, topic, kind) for (label, topic), kind in labels.items() if label]

    def suggest(self, prefix: str, *, min_length: int = 2) -> dict[str, str]:
        """The topics with a name, alias or strong term that begins with `prefix` (what a member
        has typed so far), each with the shortest such label: {"diet": "gluten"} for "gl".
        Names and aliases come before terms, then shorter labels, then the taxonomy's order.
        Fewer than `min_length` characters suggest nothing (one letter would offer everything)."""
        q = _query_text(prefix)
        if len(q) < min_length:
            return {}
        hits = sorted(
            ((kind, len(label), order, topic, label)
             for order, (label, topic, kind) in enumerate(self._suggestions) if label.startswith(q)),
        )
        out: dict[str, str] = {}
        for _kind, _length, _order, topic, label in hits:
            out.setdefault(topic, label)
        return out

    def readable_term(self, topic: str, key: str) -> str:
        return self.term_of_key.get((topic, key), key.replace("_", " "))


def _phrase_at(table: dict, seq: list[str], i: int) -> tuple[tuple[str, ...], tuple] | None:
    """The longest phrase of `table` (lists kept longest first) that starts at seq[i], with its signals."""
    for phrase, signals in table.get(seq[i], ()):
        if tuple(seq[i:i + len(phrase)]) == phrase:
            return phrase, signals
    return None


def _merge(signals: list[Signal]) -> list[Signal]:
    """One signal per (topic, key), keeping the heaviest weight."""
    best: dict[tuple[str, str, str], Signal] = {}
    for s in signals:
        k = (s.topic, s.key, s.term_key)
        if k not in best or s.weight > best[k].weight:
            best[k] = s
    return list(best.values())


def _tables(entries: dict[tuple[str, ...], list[Signal]]):
    words_table: dict[str, tuple[Signal, ...]] = {}
    phrases: dict[str, list[tuple[tuple[str, ...], tuple[Signal, ...]]]] = {}
    for seq, signals in entries.items():
        if len(seq) == 1:
            words_table[seq[0]] = tuple(signals)
        else:
            phrases.setdefault(seq[0], []).append((seq, tuple(signals)))
    for lst in phrases.values():
        lst.sort(key=lambda p: -len(p[0]))
    return words_table, phrases


def _closest(word: str, vocabulary: list[str], min_length: int) -> str | None:
    """The vocabulary word one edit away (two for words of 8 letters or more: "exersize") that
    starts with the same letter; two letters swapped are one edit ("insomina")."""
    if len(word) < min_length or not word.isalpha():
        return None
    allowed = 1 if len(word) < 8 else 2
    hit = process.extractOne(word, vocabulary, scorer=OSA.distance, score_cutoff=allowed)
    if hit is None:
        return None
    close, _distance, _ = hit
    return close if close[0] == word[0] and abs(len(close) - len(word)) <= allowed else None


# -- reading a search -----------------------------------------------------------------------

@dataclass(frozen=True)
class QueryMatch:
    """What a search means.

    `topics`: the topics asked for, in the order they were named. `keys`: per topic, the terms
    (or term groups) asked for, "" standing for the topic as a whole. `text_terms`: per topic,
    stems to look for in the text itself as well (a weak term like "night" is not stored as a
    key unless the text carried the topic; a typo is also looked for as written, since comments
    misspell words too). `free_terms`: words the taxonomy does not know, looked for in the text.
    `topic_only`: the search is exactly a topic's name or alias.
    """

    text: str
    topics: tuple[str, ...] = ()
    keys: dict[str, frozenset[str]] = field(default_factory=dict)
    text_terms: dict[str, frozenset[str]] = field(default_factory=dict)
    free_terms: tuple[str, ...] = ()
    topic_only: bool = False
    corrections: tuple[tuple[str, str], ...] = ()   # ("opiods", "opioids"): typos read as terms

    @property
    def empty(self) -> bool:
        return not self.topics and not self.free_terms

    @property
    def specific_keys(self) -> list[tuple[str, str]]:
        return [(t, k) for t, ks in self.keys.items() for k in sorted(ks) if k]

    @property
    def search_terms(self) -> tuple[str, ...]:
        """Every stem to look for in the text itself."""
        terms = list(self.free_terms)
        for t in self.topics:
            terms.extend(sorted(self.text_terms.get(t, ())))
        return tuple(dict.fromkeys(terms))


@lru_cache(maxsize=4096)
def _match_query_cached(tax: Taxonomy, q: str) -> QueryMatch:
    """`_read_query`, and crisis language (either tier) read as the topic for it: its crisis words
    stand for that topic (and its crisis terms). Nothing of such a search is looked for as
    plain text: "kms" would find "5 kms walk", and the words around a crisis phrase ("i want to
    kill myself") would find texts about anything."""
    if not (q and tax.crisis_topic and safety.is_crisis_search(q)):
        return _read_query(tax, q)
    typed = words(_prepare(q))
    said = {stem(w) for w in typed if safety_model.is_crisis_word(w)}
    # The crisis words read alone give the crisis topic's own terms when the taxonomy knows them
    # ("want to die"); the other words are read as any search.
    own = _read_query(tax, " ".join(w for w in typed if stem(w) in said))
    m = _read_query(tax, " ".join(w for w in typed if stem(w) not in said))
    topic = tax.crisis_topic
    keys = dict(m.keys)
    keys[topic] = keys.get(topic, frozenset()) | own.keys.get(topic, frozenset()) | {""} | tax.crisis_keys
    return replace(
        m, text=q, topics=(topic, *(t for t in m.topics if t != topic)), keys=keys, free_terms=(),
        # Only crisis words, or crisis words and topics named as a whole: a search for topics.
        topic_only=m.topic_only or not m.topics,
    )


def _read_query(tax: Taxonomy, q: str) -> QueryMatch:
    if not q:
        return QueryMatch(text=q)
    seq = stems(q)
    if not seq:
        return QueryMatch(text=q)
    whole = tax._query_words.get(seq[0]) if len(seq) == 1 else next(
        (sig for phrase, sig in tax._query_phrases.get(seq[0], ()) if phrase == tuple(seq)), None)
    if whole and any(s.key == "" for s in whole):
        # Exactly a topic's name or alias: the whole topic (its own terms in the search still
        # count as direct matches: "cold" puts texts that say "cold" first among weather quotes).
        names = tuple(dict.fromkeys(s.topic for s in whole if s.key == ""))
        keys = {t: frozenset(k for s in whole if s.topic == t for k in s.keys) for t in names}
        return QueryMatch(text=q, topics=names, keys=keys, topic_only=True)

    keys: dict[str, set[str]] = {}
    text_terms: dict[str, set[str]] = {}
    order: list[str] = []
    free: list[str] = []
    corrections: list[tuple[str, str]] = []

    # Whether every word read was a topic's name or alias (perhaps misspelt, "slep"): then the
    # search is for those topics as a whole, like a search for the name itself.
    names_only = True

    def add(sig: Signal) -> None:
        if sig.topic not in keys:
            keys[sig.topic] = set()
            order.append(sig.topic)
        keys[sig.topic].update(sig.keys)

    raw_words = words(_prepare(q))
    i, n = 0, len(seq)
    while i < n:
        word = seq[i]
        hit = _phrase_at(tax._query_phrases, seq, i)
        if hit:
            phrase, signals = hit
            for sig in signals:
                add(sig)
            names_only = names_only and any(sig.key == "" for sig in signals)
            i += len(phrase)
            continue
        signals = tax._query_words.get(word)
        raw = raw_words[i] if i < len(raw_words) else word
        if signals:
            for sig in signals:
                add(sig)
                if 0 < sig.weight < TAG_THRESHOLD and raw not in STOPWORDS:
                    text_terms.setdefault(sig.topic, set()).add(word)
            names_only = names_only and any(sig.key == "" for sig in signals)
        elif raw not in STOPWORDS and len(word) > 1:
            close = _closest(raw, tax._fuzzy_query_words, 4)
            if close:
                corrections.append((raw, close))
                signals = tax._query_words[tax._query_spellings[close]]
                for sig in signals:
                    add(sig)
                    text_terms.setdefault(sig.topic, set()).add(word)
                names_only = names_only and any(sig.key == "" for sig in signals)
            else:
                free.append(word)
                names_only = False
        i += 1
    if not keys and not free:
        return QueryMatch(text=q)
    if names_only:
        # Only the topics named: keep just those (a name may also be another topic's term).
        named = [t for t in order if "" in keys[t]]
        order = named
    return QueryMatch(
        text=q, topics=tuple(order), keys={t: frozenset(keys[t]) for t in order},
        text_terms={t: frozenset(v) for t, v in text_terms.items() if t in order},
        free_terms=tuple(dict.fromkeys(free)), corrections=tuple(corrections), topic_only=names_only,
    )


# -- loading --------------------------------------------------------------------------------

_TAXONOMY: Taxonomy | None = None


def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    raw = path.read_bytes()
    # Tags hold the safety detector's verdict too ("sensitive"): a new model means new tags.
    detector = safety.detector().encode()
    digest = hashlib.sha256(raw + b"\0matcher " + MATCHER_VERSION.encode() + b"\0safety " + detector).hexdigest()
    return Taxonomy(json.loads(raw), digest)


def taxonomy() -> Taxonomy:
    """The shipped taxonomy, loaded on first use."""
    global _TAXONOMY
    if _TAXONOMY is None:
        _TAXONOMY = load_taxonomy()
    return _TAXONOMY


def tag_text(text: str) -> list[str]:
    """The topics `text` talks about, strongest first."""
    return [t.topic for t in _tags_and_flag(text)[0]]


def match_query(query: str) -> QueryMatch:
    return taxonomy().match_query(query)


def suggest(prefix: str) -> dict[str, str]:
    """Topics to offer while a member types (see `Taxonomy.suggest`): {"diet": "gluten"} for "gl"."""
    return taxonomy().suggest(prefix)


# -- stored tags ----------------------------------------------------------------------------

def is_sensitive(text: str) -> bool:
    """Touches on self-harm or suicide (the safety detector decides, on its strictest threshold)."""
    return safety.scan(text).sensitive


def hint_topics(hint: str | None) -> list[TopicTag]:
    """The topics a member's topic hint names or clearly means: every word of it read as a topic,
    its terms or a typo of them ("sleep", "insomnia", "my meds"); a hint with words the taxonomy
    does not know ("stuff") names none."""
    if not hint or not hint.strip():
        return []
    m = match_query(hint)
    # A short word read as a typo ("stuff" as "stiff") is too loose a guess for a post's topic.
    if not m.topics or m.free_terms or any(len(typed) < 6 for typed, _right in m.corrections):
        return []
    return [TopicTag(t, TAG_THRESHOLD, tuple(sorted(k for k in m.keys.get(t, ()) if k))) for t in m.topics]


def _tags_and_flag(text: str, hint: str | None = None,
                   sensitive: bool | None = None) -> tuple[list[TopicTag], bool]:
    """The topics of `text` (and of the member's topic hint) and whether it touches on self-harm
    (`sensitive` when the text's safety scan is known already: a post's, made at submit).
    Crisis language carries the topic that may hold it (mental health), with its crisis terms,
    even when the taxonomy knows none of its words ("kms"): otherwise such a text could be
    offered under no topic at all, since it is never offered under an unrelated one."""
    tax = taxonomy()
    tags = tax.tag(text)
    for extra in hint_topics(hint):
        mine = next((t for t in tags if t.topic == extra.topic), None)
        if mine is None:
            tags.append(extra)
        elif mine.score < TAG_THRESHOLD:
            tags[tags.index(mine)] = replace(mine, score=TAG_THRESHOLD, keys=tuple(sorted({*mine.keys, *extra.keys})))
    tags.sort(key=lambda t: (-t.score, t.topic))
    if sensitive is None:
        sensitive = is_sensitive(text)
    if sensitive and tax.crisis_topic and all(t.topic != tax.crisis_topic for t in tags):
        tags.append(TopicTag(tax.crisis_topic, TAG_THRESHOLD, tuple(sorted(tax.crisis_keys))))
        tags.sort(key=lambda t: (-t.score, t.topic))
    return tags, sensitive


def _rows_and_flag(text: str, hint: str | None = None,
                   sensitive: bool | None = None) -> tuple[list[tuple[str, float, int, str]], int]:
    tags, sensitive = _tags_and_flag(text, hint, sensitive)
    length = len(words(text))
    return [(t.topic, t.score, length, " ".join(t.keys)) for t in tags], int(sensitive and bool(tags))


def tag_rows(text: str) -> list[tuple[str, float, int, str]]:
    """(topic, score, length, keys) rows for `text`; CPU only, safe in a worker thread."""
    return _rows_and_flag(text)[0]


def comment_tag_rows(comments: Iterable[tuple[int, str]]) -> list[tuple]:
    """Rows for `topic_tags` for (comment id, text) pairs; CPU only, for a worker thread."""
    out = []
    for comment_id, text in comments:
        rows, sensitive = _rows_and_flag(text)
        for topic, score, length, keys in rows:
            out.append((COMMENTS_GUILD, topic, "comment", comment_id, score, length, keys, 1, sensitive))
    return out


def tag_comments(texts: list[str]) -> list[list[tuple]]:
    """The tags of an article's comments, in order, before they have ids: computed off the event
    loop when an article is loaded, then written by `store_comment_tags`."""
    return [[row[:2] + row[4:] for row in comment_tag_rows([(0, text)])] for text in texts]


async def store_comment_tags(tx, article_id: int, tags: list[list[tuple]]) -> None:
    """Write the tags from `tag_comments` inside the transaction that inserted the comments
    (comment positions are 1-based, in the order the texts were given)."""
    cur = await tx.execute("SELECT id, position FROM comments WHERE article_id = ?", (article_id,))
    ids = {row[1]: row[0] for row in await cur.fetchall()}
    rows = []
    for position, comment_tags in enumerate(tags, start=1):
        comment_id = ids.get(position)
        if comment_id is None:
            continue
        for guild_id, topic, score, length, keys, quotable, sensitive in comment_tags:
            rows.append((guild_id, topic, "comment", comment_id, score, length, keys, quotable, sensitive))
    await tx.executemany(INSERT_TAG, rows)
    # A fresh database (this is its first article, and there are no posts yet): everything in it
    # is tagged with the current taxonomy, so start-up has nothing to recompute.
    await tx.execute(
        "INSERT INTO meta(key, value) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM posts)"
        " AND NOT EXISTS (SELECT 1 FROM articles WHERE id != ?) ON CONFLICT(key) DO NOTHING",
        (META_KEY, taxonomy().digest, article_id),
    )


INSERT_TAG = (
    "INSERT INTO topic_tags(guild_id, topic, source, item_id, score, length, keys, quotable, sensitive)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, topic, source, item_id) DO UPDATE SET"
    " score = excluded.score, length = excluded.length, keys = excluded.keys, quotable = excluded.quotable,"
    " sensitive = excluded.sensitive"
)


async def tag_post(tx, post_id: int, guild_id: int, text: str, *, approved: bool | None = None,
                   hint: str | None = None, sensitive: bool | None = None) -> list[str]:
    """Store the topics of a member post (and of the topic the member gave, `hint`) inside the
    caller's transaction; returns them. `sensitive` is the post's stored safety scan's verdict
    (bot/scans.py): given, the text is not scanned again.

    Whether the post can be quoted follows its state in `posts` (triggers keep it in step when
    a moderator decides); pass `approved` only when the row is not written yet.
    """
    if approved is None:
        # Closed at once: a read left open keeps the connection's snapshot after the commit, and its
        # next write would then fail at once when another process wrote meanwhile.
        async with tx.execute("SELECT state FROM posts WHERE id = ?", (post_id,)) as cur:
            row = await cur.fetchone()
        approved = row is not None and row[0] == "approved"
    rows, sensitive = _rows_and_flag(text, hint, sensitive)
    await tx.execute("DELETE FROM topic_tags WHERE source = 'post' AND item_id = ?", (post_id,))
    await tx.executemany(INSERT_TAG, [
        (guild_id, topic, "post", post_id, score, length, keys, int(approved), sensitive)
        for topic, score, length, keys in rows
    ])
    return [r[0] for r in rows]


async def untag_post(tx, post_id: int) -> None:
    """Remove a post's topics inside the caller's transaction (withdrawn or forgotten)."""
    await tx.execute("DELETE FROM topic_tags WHERE source = 'post' AND item_id = ?", (post_id,))


RETAG_BATCH = 2000


async def retag_all_if_taxonomy_changed(db: Database) -> bool:
    """At start-up: when the taxonomy (or the matcher) changed since the tags were computed,
    recompute every comment's and post's tags. Returns True when it did.

    Tagging runs in a worker thread, a batch at a time, each batch in its own short transaction,
    so the event loop and other writers are never held for long. The new hash is stored last:
    an interrupted run starts again at the next start-up. A post's stored safety scan is read
    when the detector in use made it; otherwise (the detector changed, or the post is older than
    stored scans) the post is scanned and the scan stored with it (bot/scans.py).
    """
    tax = taxonomy()
    if await db.get_meta(META_KEY) == tax.digest:
        return False
    log.info("topic taxonomy changed: recomputing the topics of every comment and post")
    comments = await db.fetchall("SELECT id, text FROM comments ORDER BY id")
    rows = await asyncio.to_thread(comment_tag_rows, [(r["id"], r["text"]) for r in comments])
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM topic_tags WHERE source = 'comment'")
        await tx.executemany(INSERT_TAG, rows)
    last_id = 0
    while True:
        batch = await db.fetchall(
            "SELECT id, guild_id, text, topic_hint, state, scan_sensitive, scan_model FROM posts"
            " WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, RETAG_BATCH))
        if not batch:
            break
        items = [(r["id"], r["guild_id"], r["text"], r["state"] == "approved", r["topic_hint"],
                  bool(r["scan_sensitive"]) if scans.is_current(r) else None) for r in batch]
        rows, fresh = await asyncio.to_thread(_post_tag_rows, items)
        ids = [r["id"] for r in batch]
        async with db.transaction() as tx:
            await tx.execute(
                f"DELETE FROM topic_tags WHERE source = 'post' AND item_id BETWEEN ? AND ?", (ids[0], ids[-1]))
            await tx.executemany(INSERT_TAG, rows)
            await tx.executemany(f"UPDATE posts SET {scans.SET_SQL} WHERE id = ?", fresh)
        last_id = ids[-1]
    await db.set_meta(META_KEY, tax.digest)
    return True


def _post_tag_rows(items: list[tuple[int, int, str, bool, str | None, bool | None]]) -> tuple[list[tuple], list[tuple]]:
    """Tag rows for (id, guild, text, approved, hint, stored verdict) posts, and the fresh scans of
    those without a stored one, as (scan values..., id) for `UPDATE posts SET scans.SET_SQL`."""
    out, fresh = [], []
    for post_id, guild_id, text, approved, hint, sensitive in items:
        if not text:  # withdrawn: no tags, no scan
            continue
        if sensitive is None:
            scan = safety.scan(scans.post_text(text, hint))
            fresh.append((*scans.values(scan), post_id))
            sensitive = scan.sensitive
        rows, flag = _rows_and_flag(text, hint, sensitive)
        for topic, score, length, keys in rows:
            out.append((guild_id, topic, "post", post_id, score, length, keys, int(approved), flag))
    return out, fresh
