"""Small text helpers shared by the features that read articles, comments and member posts.

Everything here is plain Python with no state, safe to call from any thread:

- `split_sentences(text)` / `sentence_spans(text)`: sentence boundaries that survive titles and
  abbreviations ("Dr.", "p.a.", "e.g."), closing quotes after the full stop, ellipses, "?!" runs,
  emoji after the last word, and the missing spaces of hurried comments ("sleep.I'm").
- `words(text)` / `content_words(text)`: word tokens, with the everyday stopwords dropped.
- `normalise(text)` / `fold(text)`: the same text with typographic quotes and dashes made plain,
  and (for `fold`) lower-cased without accents, for comparing and matching, never for display.
- `number_value(word)`: "31", "1,200", "fourteen", "twenty-two" as integers.
- `light_stem(word)`: a cheap suffix stripper for comparing words ("enrolled" ~ "enrol").
- `trim_to(text, limit)`: shorten at a sentence, then a word, boundary, with an ellipsis.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "STOPWORDS", "sentence_spans", "split_sentences", "words", "word_spans", "content_words",
    "normalise", "fold", "number_value", "light_stem", "trim_to",
]

# Abbreviations after which a full stop never ends a sentence: titles come before a name.
TITLE_ABBREVIATIONS = frozenset({
    "dr", "drs", "mr", "mrs", "ms", "mx", "prof", "rev", "sr", "st", "mt", "gen", "col", "capt", "lt",
    "sgt", "gov", "sen", "rep", "hon", "fr",
})
# Abbreviations that usually sit inside a sentence; they end one only when a capital follows
# that is not part of a name or a further abbreviation ("my dr's p.a. suggested ...").
INNER_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "p.a", "a.m", "p.m", "etc", "vs", "approx", "dept", "univ", "inc", "ltd", "co",
    "corp", "no", "nos", "fig", "figs", "vol", "vols", "pp", "ca", "cf", "al", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "ph.d",
    "m.d", "b.a", "m.a", "b.sc", "m.sc", "wk", "wks", "yr", "yrs", "hr", "hrs", "min", "mins",
    "mg", "ml", "est", "ave", "blvd", "rd", "y/o", "w/",
})
# Abbreviations that cannot end a sentence even before a capital ("e.g. Tylenol", "vs. Lyrica").
NEVER_FINAL = frozenset({"e.g", "i.e", "vs", "cf", "approx", "no", "fig", "figs", "vol", "pp", "ca"})

CLOSERS = "\"'”’»)]}"
OPENERS = "\"'“‘«([{"
def in_order(first: str, then: str) -> str:
    """A pattern for "a word of `first`, later on the same line a word of `then`" (both given as
    alternatives, like "brain|neur\\w+") that runs in time linear in the text: between the two it
    never passes another word of `first`, so each stretch of text is read once (`first.*then`
    reads the rest of the line again from every word of `first`). It finds what `first.*then`
    finds, starting at the last word of `first` before the word of `then`."""
    return rf"\b(?:{first})\b(?:(?!\b(?:{first})\b).)*?\b(?:{then})\b"


_TERMINAL = re.compile(r"(?:\.{3,}|…+|[.!?]+)")
_WORD_BEFORE = re.compile(r"([\w./]+)$")


def _is_symbol(ch: str) -> bool:
    """Emoji and other pictographs that people put after the last word of a sentence."""
    return unicodedata.category(ch) in ("So", "Sk", "Cn") or ch in "\ufe0f\u200d"


def _starts_new_sentence(text: str, j: int) -> bool:
    """Does the text at `j` (after the spaces) look like the start of a sentence?"""
    while j < len(text) and text[j] in OPENERS:
        j += 1
    if j >= len(text):
        return True
    ch = text[j]
    return ch.isupper() or ch.isdigit()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence in `text`, without surrounding spaces.

    A boundary is a run of terminal punctuation (". ! ? ... …"), plus any closing quotes,
    brackets and emoji, followed by the start of a new sentence (a capital, a digit, an opening
    quote, or the end). A line break before a capital also ends a sentence, since comment writers
    often drop the full stop at the end of a line.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    i = 0

    def close(end: int) -> None:
        nonlocal start
        s, e = start, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        start = end

    while i < n:
        ch = text[i]
        if ch == "\n":
            j = i
            while j < n and text[j].isspace():
                j += 1
            prev = text[start:i].rstrip()
            if prev and j < n and _starts_new_sentence(text, j):
                close(i)
            i = j
            continue
        m = _TERMINAL.match(text, i) if ch in ".!?…" else None
        if not m:
            i += 1
            continue
        punct = m.group()
        end = m.end()
        # Closing quotes, brackets and emoji belong to the sentence they close.
        while end < n and (text[end] in CLOSERS or _is_symbol(text[end])):
            end += 1
        # "...that! 🙂 Thanks": an emoji after a space still closes the sentence before it.
        k = end
        while k < n and text[k] in " \t\u00a0":
            k += 1
        if k > end and k < n and _is_symbol(text[k]):
            while k < n and (_is_symbol(text[k]) or text[k] in " \t\u00a0"):
                k += 1
            end = k
            while text[end - 1] in " \t\u00a0":
                end -= 1
        j = end
        while j < n and text[j] in " \t\u00a0":
            j += 1
        spaced = j > end or j >= n or text[j] == "\n"
        if punct[0] == "." and len(punct) == 1 and not _full_stop_ends(text, start, i, j, spaced):
            i = m.end()
            continue
        if not spaced:
            # No space after the stop: "sleep.I'm" ends a sentence, "5.5" and "U.S.A" do not,
            # and an ellipsis may run straight into the next sentence ("thinking…Thru").
            before = _WORD_BEFORE.search(text[start:i])
            glued_ok = j < n and text[j].isupper() and (
                punct[0] in "…" or punct.startswith("..") or
                (before is not None and re.fullmatch(r"[a-z]{2,}", before.group(1)) is not None
                 and j + 1 < n and (text[j + 1].islower() or (text[j] == "I" and text[j + 1] in " '’")))
            )
            if not glued_ok:
                i = m.end()
                continue
        if j < n and text[j] != "\n" and not _starts_new_sentence(text, j):
            i = m.end()  # "... (spices??) to give it a shot", "“Why?” she asked"
            continue
        close(end)
        i = end
    close(n)
    return spans


def _full_stop_ends(text: str, start: int, dot: int, next_at: int, spaced: bool) -> bool:
    """Decide whether the single full stop at `dot` ends the sentence."""
    before = _WORD_BEFORE.search(text[start:dot])
    word = before.group(1).lower().lstrip("./") if before else ""
    if word in TITLE_ABBREVIATIONS:
        return False
    if word in NEVER_FINAL:
        return False
    if word in INNER_ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        # "p.a." / "U.S." end a sentence only before a capital word that starts a new thought.
        return spaced and next_at < len(text) and text[next_at].isupper()
    if re.fullmatch(r"[a-z]", word) and before and before.group(1).isupper():
        # A lone capital initial ("Marco L. Loggia") is part of a name.
        return not (next_at < len(text) and text[next_at].isupper())
    return True


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, with their punctuation and quotes kept as written."""
    return [text[s:e] for s, e in sentence_spans(text)]


_WORD = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’\-][^\W_]+)*")


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each word: letters or digits, keeping inner apostrophes and hyphens
    ("don't", "pain-free") and decimal or thousands separators ("1,200", "5.5")."""
    return [m.span() for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    """The words of `text` as written (case kept)."""
    return [m.group() for m in _WORD.finditer(text)]


# Everyday English words that carry no topic of their own. Kept short on purpose: words like
# "pain", "help" or "where" matter to the features that use this list.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
here's hers herself him himself his i i'd i'll i'm i've if in into is isn't it it's its itself just
let's me more most mustn't my myself no nor not now of off on once only or other ought our ours
ourselves out over own same shan't she she'd she'll she's should shouldn't so some such than that
that's the their theirs them themselves then there there's these they they'd they'll they're they've
this those through to too under until up very was wasn't we we'd we'll we're we've were weren't what
what's when when's which while who who's whom why why's will with won't would wouldn't you you'd
you'll you're you've your yours yourself yourselves s t d ll m re ve also however
""".split())


def content_words(text: str) -> list[str]:
    """Lower-cased words of `text` without stopwords (apostrophes made plain first)."""
    lowered = (w.lower().replace("’", "'") for w in words(text))
    return [w for w in lowered if w not in STOPWORDS]


_PLAIN = str.maketrans({
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'", "′": "'",
    "–": "-", "—": "-", "‒": "-", "−": "-", "\u00a0": " ", "…": "...",
})


def normalise(text: str) -> str:
    """NFKC form, plain quotes and dashes, single spaces. For matching and comparing only."""
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN)
    return re.sub(r"\s+", " ", text).strip()


def fold(text: str) -> str:
    """`normalise`d, lower-cased and without accents ("Naïve" -> "naive")."""
    decomposed = unicodedata.normalize("NFKD", normalise(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | {"hundred", "dozen"}


def number_value(word: str) -> int | None:
    """The whole number a single token stands for, or None.

    Digits with thousands separators ("1,200"), and number words up to ninety-nine written as one
    token ("fourteen", "twenty-two", "Thirty"). Decimals are not whole numbers: None.
    """
    w = word.strip().lower().replace("’", "'")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+", w):
        return int(w.replace(",", ""))
    if w in _UNITS:
        return _UNITS[w]
    if w in _TENS:
        return _TENS[w]
    m = re.fullmatch(r"([a-z]+)[- ]([a-z]+)", w)
    if m and m.group(1) in _TENS and m.group(2) in _UNITS and 0 < _UNITS[m.group(2)] < 10:
        return _TENS[m.group(1)] + _UNITS[m.group(2)]
    return None


# Longest suffixes first. Enough to make "enrolled", "enrolment" and "enrol" meet, or
# "patients" and "patient"; it is not a full stemmer and does not pretend to be one.
_SUFFIXES = (
    "ational", "ization", "fulness", "ousness", "iveness", "ements", "ations", "nesses", "ically",
    "ments", "ation", "ities", "ement", "ness", "ment", "ings", "ity", "ing", "ies", "ied", "ers",
    "ed", "es", "er", "ly", "s",
)


def light_stem(word: str) -> str:
    """Strip one common English suffix from a lower-case word, keeping at least three letters."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3 or not w.isalpha():
        return w
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            stem = w[: -len(suf)]
            if suf in ("ies", "ied", "ities"):
                stem += "y" if suf != "ities" else ""
            if suf == "s" and stem.endswith(("s", "u", "i")):
                return w  # "stress", "virus", "analysis" are not plurals to strip
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # "stopped" -> "stop"
            elif len(stem) > 3 and stem.endswith("ll") and suf in ("ed", "ing", "ment", "ments"):
                stem = stem[:-1]  # "enrolled" -> "enrol"
            return stem
    return w


def trim_to(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` if it fits in `limit` characters; otherwise cut at the last sentence end that fits,
    else at the last word boundary, and mark the cut with `ellipsis`."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    if room <= 0:
        return ellipsis[:limit]
    best = 0
    for s, e in sentence_spans(text):
        if e <= limit:
            best = e
        else:
            break
    if best >= limit // 2:
        return text[:best]
    cut = text[:room]
    space = cut.rfind(" ")
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + ellipsis
