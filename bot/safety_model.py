"""Scoring a member's text for crisis language and cure claims from learned evidence.

Phrase lists only ever caught the wording they were written for. This module scores text with two
linear models (crisis, cure claim) over word, word-pair and character n-gram features, trained on a
labelled corpus of posts (`python -m bot.safety_train`) and shipped as `resources/safety_model.json`.
Scoring needs nothing beyond the standard library.

How a text is scored:
1. It is normalised (`normalise`): Unicode compatibility forms, accents and invisible characters
   dropped, look-alike letters from other scripts made Latin, leetspeak inside words undone
   ("su1c1dal", "k!ll"), masked letters filled in from a short list of words people mask ("k*ll"),
   spaced-out letters joined ("k i l l"), slang given one spelling ("kms", "unalive", "sewerslide"),
   and every run of a repeated letter squeezed to one.
2. It is cut into pieces (sentences; very long sentences in pieces of 24 tokens), and every piece and
   every pair of neighbouring pieces is scored. The highest score counts, so one crisis sentence
   buried in a long post about pain is not diluted by the rest; for crisis language it is then
   corrected by the second window, the whole post and the post's length (`CORRECTIONS`), so a long
   post gets no extra chance at one high window from being long.
3. A score is `bias + sum(weight * count) / number of tokens ** LENGTH_POWER`, turned into a
   probability: a long window is not louder than a short one.
   Because character n-grams stay inside a word, each word's share is worked out once and cached,
   and the whole scan is linear in the length of the text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Iterator

__all__ = ["normalise", "segments", "tokens", "features", "Model", "Scores", "load_model", "MODEL_FILE", "CORRECTIONS"]

MODEL_FILE = "safety_model.json"

# --- Normalisation -------------------------------------------------------------------------------

# Zero-width, formatting, bidirectional, variation selectors, Unicode tag characters (U+E0000 block)
# and combining marks: all hide words from a reader that compares letters.
_DROP = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef"
    "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
# Letters of other scripts that look Latin (after NFKD), as used to dodge filters.
_HOMOGLYPHS = {
    # Cyrillic and Greek letters that look like Latin ones (by shape, not by sound).
    **dict(zip("авеёкмнорстухѕіїјԁһӏɡьъ", "abeekmhopctyxsiijdhlgbb")),
    **dict(zip("αβεικνορτυχγηω", "abeikvoptuxynw")),
    "ς": "c", "ɑ": "a", "ı": "i", "ɩ": "i", "ʟ": "l", "ɴ": "n", "ʀ": "r", "ꜱ": "s", "ᴀ": "a", "ᴇ": "e",
    "ᴋ": "k", "ᴍ": "m", "ᴏ": "o", "ᴜ": "u", "ᴛ": "t", "ᴅ": "d", "ʜ": "h", "ɪ": "i",
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": ".",
}
_HOMOGLYPH = re.compile("[" + "".join(re.escape(ch) for ch in _HOMOGLYPHS) + "]")
# A word with digits or symbols standing in for letters. Digits then letters ("10mg", "3am", "2nd")
# are units and ordinals, not leetspeak.
# One character class, repeated once: linear on any input (a pattern with two classes that share
# characters backtracks quadratically on a long run of one of them).
_LEET_WORD = re.compile(r"[a-z0-9@$!|+*]+")
_UNIT = re.compile(r"\d+[a-z]+")
_LEET_DIGITS = str.maketrans("01345789@$", "oieastbgas")
_INNER_SYMBOLS = str.maketrans("!|+", "iit")
_SPACED_LETTERS = re.compile(r"\b(?:[a-z][ .\-_·/]){2,}[a-z]\b")
_SPACING = re.compile(r"[ .\-_·/]")
_REPEATS = re.compile(r"([^\W\d_])\1+")
_APOSTROPHE = re.compile(r"(?<=[a-z])'(?=[a-z])")

# Words people mask with '*' ("k*ll", "s**cide"), longest first so "suicidal" beats "suicide".
_MASKABLE = sorted(
    """kill killing killed myself suicide suicidal suicidally die dying dead death self harm cut cutting
    hang hanging overdose overdosing pills unalive unaliving end ending life rope jump gun shoot""".split(),
    key=len, reverse=True,
)

# Slang and self-censored spellings given one spelling, written as they read after squeezing.
_SLANG = {
    "kms": "kil myself", "kmsl": "kil myself", "kys": "kil yourself",
    "unalive": "kil", "unalived": "kiled", "unaliving": "kiling", "unalives": "kils",
    "sewerslide": "suicide", "sewer slide": "suicide", "sewerslided": "suicide", "self delete": "suicide",
    "self-delete": "suicide", "selfdelete": "suicide", "self deleting": "suicide", "ctb": "suicide",
    "catch the bus": "suicide", "sui": "suicide", "suicid": "suicide",
    "sh": "selfharm", "s/h": "selfharm", "self harm": "selfharm", "self-harm": "selfharm",
    "selfharming": "selfharm", "self harming": "selfharm",
    "od": "overdose", "oding": "overdosing", "od'ing": "overdosing",
}


def _unleet(match: re.Match[str]) -> str:
    word = match.group()
    return word if word.isalpha() else _unleet_word(word)


@lru_cache(maxsize=8192)
def _unleet_word(word: str) -> str:
    if word.isalpha() or word.isdigit() or _UNIT.fullmatch(word) or not any(ch.isalpha() for ch in word):
        return word
    core = word.strip("!*+|")          # "help!" and "*hugs*" keep their ends
    if not core:
        return word
    start = word.index(core)
    core = core.translate(_LEET_DIGITS).translate(_INNER_SYMBOLS)
    if "*" in core:
        core = _unmask(core)
    return word[:start] + core + word[start + len(word.strip("!*+|")):]


def _unmask(word: str) -> str:
    for candidate in _MASKABLE:
        if len(candidate) == len(word) and all(w == "*" or w == c for w, c in zip(word, candidate)):
            return candidate
    return word


def _join_spaced(match: re.Match[str]) -> str:
    return _SPACING.sub("", match.group())


def normalise(text: str) -> str:
    """The text as the models read it (see the module's docstring)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = _DROP.sub("", text)
        text = text.lower()
        text = _HOMOGLYPH.sub(lambda m: _HOMOGLYPHS[m.group()], text)
    else:
        text = text.lower()
    text = _APOSTROPHE.sub("", text)
    text = _LEET_WORD.sub(_unleet, text)
    text = _SPACED_LETTERS.sub(_join_spaced, text)
    text = _REPEATS.sub(r"\1", text)
    return _SLANG_PATTERN.sub(_slang, text)


def _slang(match: re.Match[str]) -> str:
    word = match.group()
    if word == "kms" and _NUMBER_BEFORE.search(match.string, max(0, match.start() - 12), match.start()):
        return word  # "5 kms" is a distance
    return _SLANG[word]


_NUMBER_BEFORE = re.compile(r"\d[\d.,]* ?$")


# Slang values and masked words are compared after squeezing, so squeeze them the same way once.
_SLANG = {_REPEATS.sub(r"\1", k): _REPEATS.sub(r"\1", v) for k, v in _SLANG.items()}
_SLANG_PATTERN = re.compile(
    r"(?<![a-z])(" + "|".join(re.escape(k) for k in sorted(_SLANG, key=len, reverse=True)) + r")(?![a-z])"
)


# --- Segments and features -----------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026])\s+|\n+")
# Words, numbers, question marks, and runs of emoji and other symbols (one token a run: a wall of
# emoji reads as one thing, and costs one look-up).
_TOKEN = re.compile(r"[^\W\d_]+|\d+|\?|[^\w\s\x00-\x7f]+")
# A sentence longer than this many tokens is read in pieces of this size (and pairs of pieces).
_PIECE = 24


def segments(text: str) -> list[str]:
    """The text's sentences as written, with empty ones dropped."""
    return [part for part in _SENTENCE_BREAK.split(text) if part.strip()]


def tokens(normalised: str) -> list[str]:
    return _TOKEN.findall(normalised)


# Word classes: evidence that generalises past the exact words of the corpus ("pills" and "tablets"
# are both means; "mum" and "my friend" both someone else). The models learn what each class and each
# pair of classes near each other weigh; nothing here decides on its own.
_CLASSES = {
    "death": "die dies died dying dead death deaths suicide suicidal kil kils kiled kiling overdose overdosing "
             "overdosed alive living exist existing existence disappear vanish gone grave funeral selfharm",
    "self": "i im me myself my mine ive id il",
    "other": "he she they his her their him them hes shes theyre friend friends mum mom mother dad father "
             "brother sister son daughter husband wife cousin aunt uncle neighbour neighbor grandma grandad "
             "people person someone patients celebrity actor singer",
    "negation": "not no never dont didnt wont nothing nobody nope isnt wasnt arent",
    "past": "ago used was were had once survived survivor recovered recovery clean anniversary then back "
            "years teen younger",
    "now": "now tonight today anymore again lately currently still soon tomorrow",
    "means": "pils pil tablets bottle bottles rope bridge gun blade blades razor stockpile stockpiling saving "
             "saved hoard hoarding noose train cliff ledge roof stash dose doses amitriptyline gabapentin "
             "oxycodone tramadol morphine fentanyl insulin cabinet",
    "farewell": "goodbye bye letters leter letter farewel gave giving away wil sory forgive last final "
                "everything thank thanks miss remember",
    "burden": "burden better without worthless useless pointless point hopeles trapped",
    "report": "leaflet label side efects warning warnings may cause risk study research percent rate rates "
              "statistics report news article documentary film movie song album book episode series show "
              "question questionnaire screening asked",
    "cure": "cure cured cures curing reverse reversed reversing disappeared eliminated healed heal remission "
            "protocol miracle guaranteed guarante permanently completely totaly",
    "sell": "dm link buy order discount code www http https com shop store offer bottle price sale",
    "doubt": "scam snake oil doubt skeptical sceptical bs nonsense lol yeah sure supposedly claims claim "
             "apparently allegedly rubbish quack sarcasm eyeroll",
    "hedge": "bit little slightly somewhat maybe helps helped manage managing edge some tiny bit",
    "ask": "anyone anybody has does did tried try worth recommend thoughts experience",
}
_CLASS_OF: dict[str, str] = {}
for _name, _words in _CLASSES.items():
    for _word in _words.split():
        _CLASS_OF.setdefault(_REPEATS.sub(r"\1", _word), _name)
# Common words are evidence as whole words only: their letters say nothing a misspelling could hide.
_COMMON = frozenset(_REPEATS.sub(r"\1", w) for w in """
a about after again all also am an and any are as at back be because been before being but by can
could day days did do does doing dont down even every for from get gets got had has have having he her
here him his how i if im in into is it its ive just know like me more most much my no not now of off
on one only or other our out over really so some still such than that the their them then there these
they thing things this those though through to too up us very was way we well were what when where
which while who why will with would you your yours""".split())

# How far apart two class words may be and still count as a pair.
_CLASS_REACH = 3


# No real word is longer: the letters of a longer one after this say nothing more (and cost time).
_MAX_GRAM_WORD = 20


def _char_grams(word: str) -> Iterator[str]:
    padded = f"<{word[:_MAX_GRAM_WORD]}>"
    for size in (3, 4, 5):
        for start in range(len(padded) - size + 1):
            yield "c" + padded[start : start + size]


def word_features(word: str) -> list[str]:
    """The features one word brings on its own: itself and, for words, its character n-grams."""
    cls = _CLASS_OF.get(word)
    own = ["w" + word, "k" + cls] if cls else ["w" + word]
    if word[0].isalpha() and word not in _COMMON:
        return [*own, *_char_grams(word)]
    return ["w" + ("0" if word[0].isdigit() else word)]


def _class_pairs(toks: list[str]) -> Iterator[str]:
    """Pairs of word classes within a few words of each other, in order ("self ... death")."""
    classes = list(map(_CLASS_OF.get, toks))
    for i in [i for i, cls in enumerate(classes) if cls is not None]:
        first = classes[i]
        for second in classes[i + 1 : i + 1 + _CLASS_REACH]:
            if second is not None:
                yield f"p{first} {second}"


def features(toks: list[str]) -> dict[str, int]:
    """Feature counts of a run of tokens (what training sees; scoring sums the same weights)."""
    counts: dict[str, int] = {}
    for word in toks:
        for feature in word_features(word):
            counts[feature] = counts.get(feature, 0) + 1
    for first, second in zip(toks, toks[1:]):
        feature = f"b{_word_key(first)} {_word_key(second)}"
        counts[feature] = counts.get(feature, 0) + 1
    for feature in _class_pairs(toks):
        counts[feature] = counts.get(feature, 0) + 1
    return counts


def _word_key(word: str) -> str:
    return "0" if word[0].isdigit() else word


def pieces(text: str) -> list[list[str]]:
    """The token lists the models score: sentences, with long ones cut into pieces."""
    out = []
    for sentence in segments(text):
        toks = tokens(normalise(sentence))
        for start in range(0, len(toks), _PIECE) if toks else ():
            out.append(toks[start : start + _PIECE])
    return out


def windows(parts: list[list[str]]) -> Iterator[list[str]]:
    """Every piece and every two neighbouring pieces: what `Model.score` scores."""
    yield from parts
    for first, second in zip(parts, parts[1:]):
        yield first + second


# --- Scoring -------------------------------------------------------------------------------------

# How feature counts are scaled by the number of tokens in a window: between their sum (0) and their
# average (1). Chosen on the dev split: a long window must not be louder than a short one.
LENGTH_POWER = 0.6


def length_scale(tokens: int) -> float:
    return tokens ** -LENGTH_POWER


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1 / (1 + math.exp(-value))
    e = math.exp(value)
    return e / (1 + e)


@dataclass(frozen=True)
class Scores:
    crisis: float          # probability-like, 0..1: the post's, the top window corrected by the rest
    cure: float
    crisis_part: int       # index of the segment that scored highest (for the moderator's evidence)
    cure_part: int
    crisis_window: float = 0.0  # the top window's alone (how a question or a search is read)


# What the rest of a post says beside its top window, as corrections to the top window's crisis
# logit (weights fitted by `bot.safety_train` on scores of writers the model had not seen). Each is
# zero for a text of one window, so a one-line post, a question or a search keeps its window's score;
# a long post gets no extra chance at one high window from being long.
CORRECTIONS = ("second", "whole", "windows", "words")
# The whole post's logit counts up to this much above the top window's: repeating a sentence adds
# evidence to a sum, not to what the post says.
WHOLE_CAP = 1.0


def correction_inputs(top: float, second: float, whole: float, windows: int, words: int, top_words: int) -> list[float]:
    """The inputs of the corrections, in the order of CORRECTIONS (logits and counts)."""
    return [second - top, min(whole, top + WHOLE_CAP) - top, math.log(windows), math.log(words / top_words)]


class Model:
    """Two linear models over the same features, with the thresholds chosen for them."""

    def __init__(self, data: dict):
        self.bias: tuple[float, float] = (data["bias"]["crisis"], data["bias"]["cure"])
        self.weights: dict[str, tuple[float, float]] = {k: (v[0], v[1]) for k, v in data["features"].items()}
        self.thresholds: dict[str, float] = dict(data.get("thresholds", {}))
        corrections = data.get("corrections", {})
        self.corrections: tuple[float, ...] = tuple(float(corrections.get(k, 0.0)) for k in CORRECTIONS)
        self.about: dict = data.get("about", {})
        self.digest = ""  # of the shipped file: what was worked out with another model is stale
        self._word = lru_cache(maxsize=65536)(self._word_uncached)

    def forget_words(self) -> None:
        """Empty the per-word cache (for timing a scan of words never seen before)."""
        self._word.cache_clear()

    def _word_uncached(self, word: str) -> tuple[float, float]:
        crisis = cure = 0.0
        get = self.weights.get
        for feature in word_features(word):
            w = get(feature)
            if w is not None:
                crisis += w[0]
                cure += w[1]
        return crisis, cure

    def _raw(self, toks: list[str]) -> tuple[float, float]:
        """The sum of the weights of a run of tokens' features, for each model."""
        crisis = cure = 0.0
        for c, k in map(self._word, toks):
            crisis += c
            cure += k
        keys = ["0" if tok[0].isdigit() else tok for tok in toks]
        found = map(self.weights.get, ["b" + a + " " + b for a, b in zip(keys, keys[1:])])
        for w in filter(None, found):
            crisis += w[0]
            cure += w[1]
        for feature in _class_pairs(toks):
            w = self.weights.get(feature)
            if w is not None:
                crisis += w[0]
                cure += w[1]
        return crisis, cure

    def score_tokens(self, toks: list[str]) -> tuple[float, float]:
        """Probabilities for one run of tokens (what training fitted)."""
        if not toks:
            return _sigmoid(self.bias[0]), _sigmoid(self.bias[1])
        crisis, cure = self._raw(toks)
        scale = length_scale(len(toks))
        return _sigmoid(self.bias[0] + crisis * scale), _sigmoid(self.bias[1] + cure * scale)

    def crisis_inputs(self, text: str) -> tuple[float, list[float]] | None:
        """The top window's crisis logit and the inputs of its corrections (None for an empty text)."""
        found = self._windows(text)
        return None if found is None else (found[0], found[1])

    def _windows(self, text: str):
        parts = pieces(text)
        if not parts:
            return None
        # Sums per piece, then windows from the sums: each token is looked at once.
        raw = [self._raw(part) for part in parts]
        lengths = [len(part) for part in parts]
        crisis_logits: list[tuple[float, int, int]] = []   # (logit, first piece, tokens)
        best_cure, cure_at = -math.inf, 0
        spans: list[tuple[int, int]] = [(i, i + 1) for i in range(len(parts))]
        spans += [(i, i + 2) for i in range(len(parts) - 1)]
        for start, end in spans:
            n = sum(lengths[start:end])
            scale = length_scale(n)
            crisis_logits.append((self.bias[0] + sum(r[0] for r in raw[start:end]) * scale, start, n))
            k = sum(r[1] for r in raw[start:end]) * scale
            if k > best_cure:
                best_cure, cure_at = k, start
        best = max(range(len(crisis_logits)), key=lambda i: crisis_logits[i][0])  # the first of equals
        top, crisis_at, top_words = crisis_logits[best]
        second = max((c[0] for i, c in enumerate(crisis_logits) if i != best), default=top)
        words = sum(lengths)
        whole = self.bias[0] + sum(r[0] for r in raw) * length_scale(words)
        inputs = correction_inputs(top, second, whole, len(spans), words, top_words)
        return top, inputs, crisis_at, self.bias[1] + best_cure, cure_at

    def score(self, text: str) -> Scores:
        """For each detector, the highest score of any window of the text; the crisis score then
        corrected by what the rest of the post says (see CORRECTIONS)."""
        found = self._windows(text)
        if found is None:
            crisis, cure = self.score_tokens([])
            return Scores(crisis, cure, -1, -1, crisis)
        top, inputs, crisis_at, cure, cure_at = found
        corrected = top + sum(a * x for a, x in zip(self.corrections, inputs))
        return Scores(_sigmoid(corrected), _sigmoid(cure), crisis_at, cure_at, _sigmoid(top))


@lru_cache(maxsize=1)
def load_model() -> Model:
    """The model shipped with the package."""
    raw = resources.files("bot").joinpath("resources", MODEL_FILE).read_bytes()
    model = Model(json.loads(raw))
    model.digest = hashlib.sha256(raw).hexdigest()
    return model


def piece_texts(text: str) -> list[str]:
    """The pieces of `text` as the member wrote them, in the order `score` numbers them."""
    out = []
    for sentence in segments(text):
        count = len(tokens(normalise(sentence)))
        if count <= _PIECE:
            if count:
                out.append(sentence.strip())
            continue
        # A long sentence: the written words of each piece, found by counting tokens again.
        words = sentence.split()
        step = max(1, len(words) * _PIECE // count)
        for start in range(0, len(words), step):
            out.append(" ".join(words[start : start + step]))
    return out


def iter_texts(lines: Iterable[str]) -> Iterator[dict]:
    for line in lines:
        line = line.strip()
        if line:
            yield json.loads(line)


# The small, explainable part: words that say crisis on their own once disguises are undone. Not a
# detector (the models decide whether a text is crisis language); it says which words of a text the
# models read as crisis carried it, so that a search is not looked for by those words.
_CRISIS_WORDS = frozenset(_REPEATS.sub(r"\1", w) for w in """
kill killing killed kills suicide suicidal selfharm die dying died dead death overdose overdosing
end ending unalive""".split())


def is_crisis_word(word: str) -> bool:
    """Does this one word, disguises undone, say crisis on its own ("kms", "sewerslide", "d!e")?"""
    return any(tok in _CRISIS_WORDS for tok in tokens(normalise(word)))


# A search of one to three words is far from the posts the models learnt from ("meals" alone can
# score high): such a short text is read as crisis talk only when it holds one of these phrases,
# disguises undone ("suicide", "sewerslide", "unalive", "kms", "self harm", "want to die").
SHORT_TEXT = 3
_CRISIS_PHRASES = tuple(tuple(_REPEATS.sub(r"\1", w) for w in phrase.split()) for phrase in (
    "suicide", "suicidal", "selfharm", "kill", "overdose", "want to die", "wanna die", "end it all",
    "end my life", "ended my life", "ending my life", "take my life", "took my life", "taking my life",
    "better off dead", "dont want to live",
))


def is_crisis_term(text: str) -> bool:
    """Does this short text (a search) say crisis in so many words, disguises undone?"""
    return _holds_phrase(tokens(normalise(text)), _CRISIS_PHRASES)


# What a content note names: death, dying, suicide, self-harm or overdose, in so many words. In a
# post, "kill" and "end" alone are mostly figures of speech ("the weather kills me", "no end to it"),
# so they count only in phrases ("kill myself", "end my life").
_NAMING_WORDS = frozenset(w for w in _CRISIS_WORDS if not w.startswith(("kil", "end")))
_NAMING_PHRASES = tuple(p for p in _CRISIS_PHRASES if p != ("kil",)) + tuple(
    tuple(_REPEATS.sub(r"\1", w) for w in phrase.split())
    for phrase in ("kill myself", "killing myself", "killed myself", "kill my self", "hurt myself",
                   "hurting myself", "harm myself", "harming myself", "cut myself", "cutting myself",
                   "cutting again", "burn myself", "burning myself"))


def names_crisis(text: str) -> bool:
    """Does this text speak of death, dying, suicide, self-harm or overdose in so many words,
    disguises undone?"""
    toks = tokens(normalise(text))
    return any(tok in _NAMING_WORDS for tok in toks) or _holds_phrase(toks, _NAMING_PHRASES)


def _holds_phrase(toks: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(tuple(toks[i : i + len(p)]) == p for p in phrases for i in range(len(toks) - len(p) + 1))


def is_short(text: str) -> bool:
    return len(tokens(normalise(text))) <= SHORT_TEXT


def visible(text: str) -> str:
    """The text without invisible and formatting characters (for showing a phrase to a moderator)."""
    return _DROP.sub("", text) if not text.isascii() else text
