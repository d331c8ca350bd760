"""Safety wording and detectors for a health support community: crisis language and cure claims.

`scan(text)` looks for two things in a member's post, on phrase lists and patterns written for this
bot (plain keyword lists always have omissions; these are a net for a human moderator, not a
verdict):

- crisis language: suicidal thoughts, self-harm, slang ("kms", "sewerslide", "unalive"), past
  attempts and past suicidal thoughts. The post is marked urgent and the member is shown
  `crisis_message(...)` at once. Figures of speech ("this flare is killing me", "dead tired",
  "my phone died") do not count: a detector that fires on them teaches people to ignore it.
- unproven-cure claims: something "cured my fibro", "reverses fibromyalgia", guaifenesin promotion,
  "miracle" products, guarantees, "doctors don't want you to know". The post is held for a
  moderator with a neutral evidence note. Naming a medicine, hoping or fighting for a cure, saying
  there is no cure and debunking guaifenesin are fine.

How matching works, so that a newcomer can add a phrase:
1. The text is normalised once: typographic apostrophes, quotes and dashes made plain, invisible
   characters dropped, lower case, runs of one letter squeezed to one ("diiie", "killl" -> "die",
   "kil"), runs of spaces made one space.
2. Every pattern below is written in plain spelling and squeezed the same way when it is compiled,
   so "kill myself" in a pattern matches "KILLLL   myself" in a post. (A consequence: "of" and
   "off", "to" and "too" match each other; that only helps with typos.)
3. A rule fires unless its context says otherwise: a plain denial just before it ("I'm not
   suicidal", "nothing has cured"), hope rather than a claim ("I want a cure"), a question
   ("Is there a cure?"), an accident or joke just after it ("cut myself chopping onions"), or for
   the weaker keywords, someone else or statistics in the same sentence ("suicide rates").
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

__all__ = [
    "NOT_MEDICAL_ADVICE", "DEFAULT_CRISIS_RESOURCES", "CURE_EVIDENCE_NOTE", "GUAIFENESIN_EVIDENCE_NOTE",
    "CRISIS_FLAG", "CURE_CLAIM_FLAG", "SafetyScan", "scan", "crisis_message",
]

# Shown under every summary, answer and quote.
NOT_MEDICAL_ADVICE = "Not medical advice: talk to your doctor before changing any treatment."

# One short, kind message with one or two resources helps more than a long list of hotlines.
# Servers outside the US replace this with `/config crisis-resources`.
DEFAULT_CRISIS_RESOURCES = (
    "US: call or text 988 (Suicide & Crisis Lifeline), or text DISCORD to 741741 (Crisis Text Line). "
    "Elsewhere: call your local emergency number."
)

# Notes for the moderator who reviews a post held for a cure claim: neutral, sourced, short.
CURE_EVIDENCE_NOTE = (
    "Evidence note: there is no known cure for fibromyalgia. Some treatments and self-care help some "
    "people manage symptoms, but no product, diet or protocol has been shown in clinical trials to cure "
    "or reverse it. Personal experience is welcome; a cure claim is not established fact."
)
GUAIFENESIN_EVIDENCE_NOTE = (
    "Evidence note: guaifenesin for fibromyalgia was tested in a randomised, placebo-controlled trial "
    "(Bennett et al., 1996, 12 months): it made no difference compared with placebo in pain, other "
    "symptoms or laboratory measures."
)

CRISIS_FLAG = "crisis"
CURE_CLAIM_FLAG = "cure_claim"

# Ephemeral message content is limited to 2000 characters; the rest of the message needs ~250.
_MAX_RESOURCES_LENGTH = 1500


@dataclass(frozen=True)
class SafetyScan:
    crisis: bool                      # urgent: show the member crisis resources, alert the moderators
    cure_claim: bool                  # hold for a moderator with `evidence_note`
    flags: tuple[str, ...]            # "crisis", "cure_claim"
    matched: tuple[str, ...]          # the phrases that fired, as the member wrote them, for the moderator
    evidence_note: str | None = None  # set when cure_claim is

    @property
    def urgent(self) -> bool:
        return self.crisis


def crisis_message(resources_text: str | None = None) -> str:
    """The short, kind message a member sees right after posting crisis language.

    `resources_text` is the server's crisis resources setting; empty or missing means the default.
    """
    resources = (resources_text or "").strip() or DEFAULT_CRISIS_RESOURCES
    if len(resources) > _MAX_RESOURCES_LENGTH:
        resources = resources[: _MAX_RESOURCES_LENGTH - 1].rstrip() + "…"
    return (
        "Thank you for trusting us with this. It sounds like things are really hard right now, "
        "and you don't have to carry it alone.\n"
        f"If you might act on these thoughts, please reach someone now: {resources}\n"
        "This bot isn't a crisis service, but a moderator will see your post."
    )


# --- Normalisation -------------------------------------------------------------------------------

# Zero-width and formatting characters, and bidirectional controls: they hide words from a pattern.
_INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
)
_PLAIN = str.maketrans(
    {
        **{ch: "'" for ch in "\u2018\u2019\u201a\u201b\u02bc\u2032\u00b4`"},
        **{ch: '"' for ch in "\u201c\u201d\u201e\u201f\u00ab\u00bb"},
        **{ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
        "\u2026": ".",   # an ellipsis ends a sentence like a full stop
        "\u0130": "i",   # the one letter whose lower case is two characters
        **{ch: None for ch in _INVISIBLE},
    }
)
# The same table as a pattern: a regular expression finds the few characters to change much faster
# than `str.translate` walks a dict for every character.
_PLAIN_CHARS = re.compile("[" + "".join(re.escape(chr(code)) for code in _PLAIN) + "]")
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")
_REPEATED_ASCII_LETTER = re.compile(r"([a-z])\1+")
_REPEATED_OTHER = re.compile(r"([^\x00-\x7f])\1")
# Runs of spaces and tabs, and single whitespace that is not a plain space; newlines stay.
_SPACES = re.compile(r" [^\S\n]+|[^\S\n ][^\S\n]*")
_TOKEN = re.compile(r"[^\W_]+")


def _plain(match: re.Match[str]) -> str:
    return match.group().translate(_PLAIN)


def _first_letter(match: re.Match[str]) -> str:
    return match.group(1)


def _space(match: re.Match[str]) -> str:
    return " "


def _normalise(text: str) -> str:
    text = _PLAIN_CHARS.sub(_plain, text).lower()
    text = _REPEATED_ASCII_LETTER.sub(r"\1", text)
    if not text.isascii() and _REPEATED_OTHER.search(text):  # rare: "ааа", or emoji in a row
        text = _REPEATED_LETTER.sub(r"\1", text)
    return _SPACES.sub(" ", text)


def _substitute_with_map(pattern: re.Pattern[str], replace, text: str) -> tuple[str, list[tuple[int, int]]]:
    """`pattern.sub(replace, text)`, and where each piece of the result came from.

    The map is a list of (position in the result, position in `text`) at the start of every
    unchanged run and every replacement. Replacements are never longer than what they replace,
    so a position inside one maps to a position inside what it replaced.
    """
    pieces: list[str] = []
    origins: list[tuple[int, int]] = []
    out = last = 0
    for match in pattern.finditer(text):
        if match.start() > last:
            origins.append((out, last))
            pieces.append(text[last : match.start()])
            out += match.start() - last
        replacement = replace(match)
        origins.append((out, match.start()))
        pieces.append(replacement)
        out += len(replacement)
        last = match.end()
    if last < len(text) or not origins:
        origins.append((out, last))
        pieces.append(text[last:])
    return "".join(pieces), origins


def _normalise_with_maps(text: str) -> tuple[str, list[list[tuple[int, int]]]]:
    """The same as `_normalise`, with one map per step to find the member's own words again.

    Slower, so it only runs when something matched, to show the moderator the phrase as written.
    """
    maps = []
    text, origins = _substitute_with_map(_PLAIN_CHARS, _plain, text)
    maps.append(origins)
    text = text.lower()  # one character for one ("İ" was made "i" above)
    text, origins = _substitute_with_map(_REPEATED_ASCII_LETTER, _first_letter, text)
    maps.append(origins)
    if not text.isascii() and _REPEATED_OTHER.search(text):
        text, origins = _substitute_with_map(_REPEATED_LETTER, _first_letter, text)
        maps.append(origins)
    text, origins = _substitute_with_map(_SPACES, _space, text)
    maps.append(origins)
    return text, maps


def _original_position(maps: list[list[tuple[int, int]]], position: int) -> int:
    for origins in reversed(maps):
        at = bisect.bisect_right(origins, (position, math.inf)) - 1
        out, source = origins[at]
        position = source + (position - out)
    return position


def _squeeze_pattern(source: str) -> str:
    """Squeeze doubled letters in a pattern's literal text, as `_normalise` does in posts.

    Escapes (`\\b`, `\\s`) are copied untouched, so `\\bbetter` becomes `\\bbeter`, not `\\beter`.
    """
    out: list[str] = []
    previous = ""
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            out.append(source[i : i + 2])
            previous = ""
            i += 2
            continue
        if ch.isalpha() and ch == previous:
            i += 1
            continue
        out.append(ch)
        previous = ch if ch.isalpha() else ""
        i += 1
    return "".join(out)


def _compile(source: str) -> re.Pattern[str]:
    return re.compile(_squeeze_pattern(source))


def _top_level_branches(source: str) -> list[str]:
    """`source` split at each `|` outside groups and character classes."""
    branches, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if source[i + 1 : i + 2] == "]":  # "[]...]": a leading "]" is literal
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            branches.append(source[start:i])
            start = i + 1
        i += 1
    branches.append(source[start:])
    return branches


def _compile_rule(source: str) -> re.Pattern[str]:
    """A rule's pattern without its leading `\\b`, which `_fires` checks instead.

    A pattern that starts with `\\b` makes the regular expression engine try every position in the
    post; without it, the engine jumps to the places where the first letters fit, about ten times
    faster. Every top-level branch must start with `\\b`, so dropping them changes nothing.
    """
    branches = _top_level_branches(_squeeze_pattern(source))
    if not all(branch.startswith("\\b") for branch in branches):
        raise ValueError(f"every branch of a rule must start with \\b: {source!r}")
    return re.compile("|".join(branch[2:] for branch in branches))


# --- Rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    # Words, "|" between them, that every match of the rule contains: `scan` runs the pattern only
    # on posts that have one (speed only). "word*" stands for any word that begins with "word".
    anchors: str
    source: str
    check_denial: bool = True         # skip after a plain denial ("I'm not suicidal", "nothing has cured")
    weak: bool = False                # skip when the sentence is about someone else or statistics
    skip_questions: bool = False      # skip inside a question ("Is there a cure?")
    unless_after: str | None = None   # skip when this follows in the same sentence (accidents, jokes)
    unless_before: str | None = None  # skip when the text just before ends like this ("5 kms")

    def compiled(self) -> tuple[re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None]:
        return (
            _compile_rule(self.source),
            _compile(self.unless_after) if self.unless_after else None,
            _compile(self.unless_before + r"$") if self.unless_before else None,
        )

    def anchor_words(self) -> tuple[str, ...]:
        return tuple(_REPEATED_LETTER.sub(r"\1", word.lower()) for word in self.anchors.split("|"))


_ME = r"my\s?self"
_ACCIDENT = (
    r"\b(?:laugh\w*|gym|workout|working|cleaning|trip\w*|fall\w*|slip\w*|stairs|ladder|"
    r"accident\w*|by mistake|shaving|chopping|cooking|kitchen|slicing|peeling|gardening|paper|"
    r"in the foot|doing)\b"  # not "fell": squeezed, it reads as "feel"
)

CRISIS_RULES: tuple[_Rule, ...] = (
    # Killing oneself, by name or by method.
    _Rule("kill|killing|killed|kills", rf"\bkill(?:ing|ed|s)?\s+{_ME}\b", unless_after=_ACCIDENT),
    _Rule("hang|hanging|hanged|shoot|shooting|shot|drown|drowning|poison|poisoning|stab|stabbing",
          rf"\b(?:hang|hanging|hanged|shoot|shooting|shot|drown|drowning|poison|poisoning|stab|stabbing)\s+{_ME}\b",
          unless_after=_ACCIDENT),
    _Rule("wrist|wrists", r"\b(?:slit|slash|slitting|slashing|cut|cutting)\s+(?:my\s+)?wrists?\b"),
    _Rule("jump|jumping|jumped",
          r"\bjump(?:ing|ed)?\s+(?:off|from|in front of)\s+(?:a|the)\s+"
          r"(?:bridge|building|roof|cliff|train|balcony)\b"),
    _Rule("front", r"\b(?:step|stepping|walk|walking)\s+in front of\s+(?:a|the)\s+(?:train|bus|truck|car)\b"),
    _Rule("toaster", r"\btoaster\s+bath\b"),
    # Slang. "kms" after a number is kilometres.
    _Rule("k|km|kms",
          r"\bk\.?\s?m\.?\s?s\b",
          unless_before=r"(?:\d[\d.,]*\s*|\b(?:few|many|several|some|more|hundred|thousand)\s)"),
    _Rule("sewer|sewerslide", r"\bsewer[\s_-]?slide\b"),
    _Rule("unalive|unalived|unaliving|alive|alived|aliving", r"\bun[\s-]?alive(?:d|ing)?\b", weak=True),
    # Suicide and self-harm by name.
    _Rule("suicidal", r"\b(?:i'?m|i am|i was|i'?ve been|i have been|i feel|i felt|feeling|felt|been|"
          r"getting|got|having|had|my|i get|i have)\s+(?:so |really |very |kinda |kind of |pretty |"
          r"a bit |a little |extremely |super |quite )?suicidal\b"),
    _Rule("suicid*|sucid*|suisid*|susid*|suicd*|sucd*|suisd*|susd*",
          r"\bsu(?:i?c|i?s)i?d(?:e|es|al|ality)\b", weak=True),
    _Rule("self*", r"\bself[\s_-]?(?:harm\w*|injur\w*|mutilat\w*)", weak=True),
    _Rule("cut|cutting", rf"\b(?:cut|cutting)\s+{_ME}\b", unless_after=_ACCIDENT),
    _Rule("hurt|harm|cut|burn|hurting|harming|cutting|burning",
          rf"\b(?:want|wanted|wanting|urges?|tempted|thinking about|thought about|going|plan|planning|tried|"
          rf"trying|to)\s+(?:to\s+)?(?:hurt|harm|cut|burn)(?:ing)?\s+{_ME}\b"),
    _Rule("purpose", rf"\b(?:hurt|harm|cut|burn)(?:ing|ed)?\s+{_ME}\s+on purpose\b"),
    _Rule("again", rf"\b(?:hurt|harmed|cut|burned|burnt)\s+{_ME}\s+again\b"),
    _Rule("again|started",
          r"\b(?:cutting|burning)\s+(?:myself\s+)?again\b|"
          r"\bstarted\s+cutting\b(?!\s+(?:out|back|down|carbs|sugar|gluten))"),
    _Rule("used", r"\bused\s+to\s+(?:cut|burn)\b(?=\s*(?:[,.;!]|and\b|$))"),
    # Past attempts ("my last attempt was in 2020"), not "my last attempt at yoga".
    _Rule("attempt|attempts",
          r"\bsurvived\s+(?:an|my|a|the|two|three)\s+(?:suicide\s+)?attempts?\b|\b(?:after|since|before)\s+my\s+"
          r"(?:suicide\s+)?attempt\b(?!\s+(?:at|to)\b)"),
    _Rule("attempt|attempts", r"\b(?:my|last|previous|first|second)\s+(?:suicide\s+)?attempts?\s+(?:was|were)\s+"
          r"(?:in\s+\d|\d|years|months|last|a\s+few|when)"),
    # Ending one's life, in any tense ("not always thinking about ended my life").
    _Rule("life", r"\b(?:end|ends|ending|ended|take|takes|taking|took|taken)\s+my\s+(?:own\s+)?life\b"),
    _Rule("all", r"\bend(?:s|ing|ed)?\s+it\s+all\b"),
    _Rule("end|ending",
          r"\b(?:going\s+to|gonna|want\s+to|wanna|thinking\s+about|think\s+about|thought\s+about|thinking\s+of|"
          r"could|should|ready\s+to|about\s+to|just)\s+(?:just\s+)?(?:end|ending)\s+(?:it|things|everything)\b",
          unless_after=r"^\s+(?:with|between|for\s+(?:the|today|now)|early|there|here|on|at)\b"),
    _Rule("around|here",
          r"\b(?:won'?t|will\s+not|don'?t\s+think\s+i'?ll|not\s+going\s+to|might\s+not)\s+be\s+(?:around|here)\s+"
          r"(?:much\s+longer|for\s+(?:much\s+)?longer|much\s+more|by\s+(?:then|next)|next\s+(?:week|month|year))\b"),
    _Rule("jump|jumping",
          r"\b(?:thinking\s+(?:about|of)|thought\s+(?:about|of)|want\s+to|wanna|going\s+to)\s+(?:just\s+)?jump(?:ing)?\b"
          r"(?=\s*(?:[,.;!?]|$|off\b|from\b|in\s+front\b))"),
    _Rule("end|ending|offing", rf"\b(?:end|ending|offing)\s+{_ME}\b"),
    _Rule("want", r"\bwant\s+(?:it all|everything|my life|life)\s+to\s+(?:end|be over|stop)\b"),
    _Rule("stop", r"\b(?:want|wanna)\s+to\s+stop\s+(?:living|breathing)\b"),
    _Rule("wake",
          r"\b(?:want|wants|wanna|wish|wishing|hope|hoping|pray|praying)\s+(?:to\s+)?(?:just\s+)?(?:not|never)\s+"
          r"(?:to\s+)?wake\s+up\b", check_denial=False),
    _Rule("disappear|vanish|exist|existing|gone",
          r"\b(?:want|wanna|wish|wishing|hope|ready)\s+(?:to\s+|i\s+could\s+)?(?:just\s+)?(?:disappear|vanish|"
          r"stop\s+existing|not\s+exist|cease\s+to\s+exist|be\s+gone)\b",
          unless_after=r"^\s+(?:for\s+(?:a|an|the)\s+(?:day|days|week|while|bit|weekend|hour|month)|under|into|"
                       r"to\s+(?:a|the|my)|from\s+(?:work|social|the\s+internet)|on\s+holiday)\b"),
    _Rule("letter|letters|note|notes|message|messages",
          r"\b(?:goodbye|good-bye|farewell|suicide)\s+(?:letter|note|message)s?\b"),
    _Rule("goodbyes",
          r"\b(?:said|saying)\s+my\s+goodbyes\b", unless_after=r"^\s+to\s+(?:the|my|our)\s+(?:old|house|home|job)"),
    _Rule("plan|planning|planned",
          r"\b(?:plan|planning|planned)\s+my\s+(?:exit|death|suicide|way\s+out|own\s+death)\b",
          unless_after=r"^\s+(?:from|strategy|interview)\b"),
    _Rule("die|end|kill|painless",
          r"\b(?:ways?|how|methods?)\s+to\s+(?:die|end\s+it|kill\s+myself|end\s+my\s+life)\b|"
          r"\bpainless\s+(?:way|ways|death)\b"),
    _Rule("myself|self", r"\b(?:might|could|would|will|going\s+to|gonna)\s+do\s+(?:something\s+)?to\s+myself\b"),
    _Rule("something", r"\b(?:going\s+to|gonna|about\s+to|might|scared\s+i'?ll|afraid\s+i'?ll)\s+do\s+something\s+"
          r"(?:stupid|drastic|permanent)\b"),
    _Rule("want", r"\bwant\s+out\s+of\s+(?:this\s+|my\s+)?(?:life|world)\b"),
    _Rule("would", r"\b(?:nobody|no\s+one|no-one)\s+would\s+(?:even\s+)?(?:notice|care|miss\s+me)\s+if\s+i\b|"
          r"\b(?:nobody|no\s+one|no-one)\s+would\s+(?:even\s+)?miss\s+me\b"),
    _Rule("why", r"\bwhy\s+(?:bother|keep)\s+(?:living|going\s+on|being\s+alive|trying\s+to\s+live)\b"),
    _Rule("death|dying",
          r"\b(?:death|dying)\s+(?:would|will|'d|'ll)\s+be\s+(?:a\s+)?"
          r"(?:relief|welcome|mercy|a\s+mercy|easier|better)\b"),
    _Rule("death", r"\b(?:welcome|long\s+for|longing\s+for)\s+death\b"),
    # Wanting to die, or not to live.
    _Rule("die|dead",
          r"\b(?:want|wanna|wanted|wish|wishing|ready|praying|pray|hope|hoping)\s+(?:to\s+|i\s+could\s+|i\s+would\s+|"
          r"i'?d\s+|i\s+)?(?:just\s+)?(?:die|be\s+dead)\b",
          unless_after=r"^\s*(?:(?:of|from)\s+(?:embarrassment|shame|laughter|laughing|boredom|cringe)|"
                       r"laughing|happy|old)\b"),
    _Rule("wish", r"\bwish\s+i\s+(?:was|were|had)\s+(?:dead|never\s+(?:been\s+)?born|not\s+alive)\b"),
    _Rule("wish", r"\bwish\s+i\s+(?:wasn'?t|weren'?t)\s+(?:alive|born|here)\b"),
    _Rule("dead", r"\bbetter\s+off\s+dead\b"),
    _Rule("without",
          r"\b(?:better|happier|easier)\s+(?:off\s+)?without\s+(?:their|his|her|our)\s+(?:mom|mum|mother|dad|father|wife|"
          r"husband|sister|brother|daughter|son)\b"),
    _Rule("rather|sooner", r"\b(?:rather|sooner)\s+(?:be\s+dead|die)\b",
          unless_after=r"^\s+than\s+(?:wear|eat|go\s+(?:to|back|shopping)|be\s+seen|listen|watch|sit\s+through)\b"),
    _Rule("without|gone|if",
          r"\b(?:would|'d|will|'ll)\s+(?:all\s+)?be\s+(?:so\s+|much\s+|a lot\s+|far\s+)?(?:better|happier|easier|fine)"
          r"(?:\s+off)?\s+(?:without\s+me|with\s+me\s+gone|when\s+i'?m\s+gone|if\s+i\s+(?:just\s+)?(?:died|disappeared|"
          r"was\s+gone|were\s+gone|wasn'?t\s+(?:here|around|alive)|weren'?t\s+(?:here|around|alive)|didn'?t\s+exist|"
          r"was\s+dead|were\s+dead|never\s+existed|never\s+woke\s+up))"),
    _Rule("want|wanna|wish",
          r"\b(?:don'?t|do not|no longer|doesn'?t|didn'?t)\s+(?:really\s+)?(?:want|wanna|wish)\s+(?:to\s+)?"
          r"(?:be\s+alive|live|exist|go\s+on|keep\s+going|keep\s+living)\b",
          unless_after=r"^\s+(?:with|in|near|there|on)\b"),
    _Rule("wake", r"\b(?:don'?t|do not|no longer)\s+(?:really\s+)?(?:want|wanna|wish)\s+to\s+wake\s+up\b",
          unless_after=r"^\s+(?:early|at|before|so|too|for)\b"),
    _Rule("here|around",
          r"\b(?:don'?t|do not|no longer)\s+(?:really\s+)?(?:want|wanna|wish)\s+to\s+be\s+(?:here|around)\s+"
          r"(?:anymore|any\s?more|no\s?more|any\s+longer|much\s+longer)\b"),
    _Rule("wake", r"\b(?:go\s+to\s+sleep|fall\s+asleep|sleep)\s+and\s+(?:never|not)\s+wake\s+up\b"),
    _Rule("wake",
          r"\b(?:hope|hoping|pray|praying|wish)\s+(?:that\s+)?i\s+(?:don'?t|do\s+not|never|won'?t|wouldn'?t)\s+"
          r"wake\s+up\b"),
    _Rule("point|reason",
          r"\b(?:no|don'?t\s+see\s+(?:the|any)|can'?t\s+see\s+(?:the|any)|what'?s\s+the|what\s+is\s+the|"
          r"lost\s+(?:the|any|my))\s+(?:point|reason)\s+(?:to|in|of)\s+(?:live|living|go\s+on|going\s+on|be\s+alive|"
          r"being\s+alive|existing|carrying\s+on)\b"),
    _Rule("live", r"\bnothing\s+(?:left\s+)?to\s+live\s+for\b"),
    _Rule("worth", r"\b(?:not|isn'?t|wasn'?t|no\s+longer)\s+worth\s+living\b"),
    _Rule("worth", r"\blife\s+(?:is|'s)\s+(?:not|no\s+longer)\s+worth\b"),
    _Rule("living|alive|existing", r"\b(?:tired|sick)\s+of\s+(?:living|being\s+alive|existing)\b"),
    _Rule("give|gave|given|giving", r"\b(?:give|gave|given|giving)\s+up\s+on\s+(?:life|living)\b"),
    _Rule("go", r"\bcan'?t\s+go\s+on\s+(?:anymore|any\s+more|living)\b"),
    _Rule("living", r"\bcan'?t\s+(?:keep|carry\s+on)\s+living\b"),
    # Pills: intent or stockpiling, not a daily routine ("I take all my meds with breakfast").
    _Rule("swallow|swallowing|swallowed", r"\bswallow(?:ing|ed)?\s+(?:all|every one|the whole)\b"),
    _Rule("pills|meds|medication|medications|tablets",
          r"\b(?:going to|gonna|want to|wanna|thinking about|thought about|tempted to|plan to|planning to|could)\s+"
          r"(?:just\s+)?(?:take|taking|swallow)\s+(?:all|every one|the whole bottle)\s+(?:of\s+)?(?:my\s+)?"
          r"(?:pills|meds|medications?|tablets)\b"),
    _Rule("many", r"\bhow\s+many\s+(?:of\s+)?(?:my\s+|these\s+|those\s+|the\s+)?(?:pills|tablets|meds)\s+(?:it\s+)?"
          r"(?:would|will|it'?d)\s+take\b"),
    _Rule("saved|stockpiled|hoarded|ready",
          r"\b(?:pills|meds|tablets|painkillers)\s+(?:all\s+)?(?:saved|stockpiled|hoarded|ready)\b",
          unless_after=r"^\s+for\s+(?:bad|flare|worse|travel|emergenc\w*|the\s+trip|holidays?|the\s+week)"),
    _Rule("once", r"\b(?:take|took)\s+all\s+(?:of\s+)?my\s+(?:pills|meds|medications?|tablets)\s+at\s+once\b"),
    _Rule("saving|saved|stockpil*|hoard*",
          r"\b(?:saving\s+up|saved\s+up|stockpil\w*|hoard\w*)\s+(?:all\s+)?(?:my\s+|of\s+my\s+)?"
          r"(?:pills|meds|medications?|tablets|painkillers|opioids)\b",
          unless_after=r"^\s+for\s+(?:bad|flare|worse|travel|emergenc\w*|the\s+trip|holidays?|when\s+i\s+run)"),
    _Rule("overdos*|od|oding",
          r"\b(?:want|wanted|going|planning|plan|thinking|thought|think|tempted|urge|tried|trying)\s+"
          r"(?:to\s+|about\s+|of\s+)?(?:overdos\w*|od(?:'?ing|'?d)?)\b"),
    # A past overdose; "I accidentally overdosed" does not match, the adverb sits in between.
    _Rule("overdos*",
          r"\b(?:took|taken|take|taking)\s+an\s+overdose\b|\bi\s+(?:intentionally\s+|deliberately\s+)?overdosed\b"),
)

# Words that make a weak keyword ("suicide", "self-harm") about someone else or about numbers.
_ABOUT_OTHERS = _compile(
    r"\b(?:he|she|they|him|his|her|hers|their|them|friend'?s?|brother|sister|mom|mum|mother|dad|father|son|"
    r"daughter|cousin|uncle|aunt|husband|wife|partner|boyfriend|girlfriend|grandma|grandpa|grandmother|"
    r"grandfather|neighbou?r|coworker|colleague|someone|somebody|people|patients|person|celebrity|actor|singer|"
    r"rates?|statistics?|stats|study|studies|research|researchers|article|prevention|awareness|hotline|"
    r"lifeline|helpline|squad|month|risk|number|movie|film|show|song|book)\b"
)

# Clause boundaries for the denial and hope windows.
_CLAUSE_BREAK = _compile(r"[,:()\"]|\b(?:but|and|so|though|although|because|yet|just)\b")
_NEGATION = (
    r"not|never|no|nor|don'?t|dont|doesn'?t|didn'?t|won'?t|wouldn'?t|can'?t|cannot|couldn'?t|isn'?t|aren'?t|"
    r"wasn'?t|weren'?t|ain'?t|shouldn'?t|haven'?t|hasn'?t|hadn'?t"
)
_CRISIS_DENIAL = _compile(rf"\b(?:{_NEGATION})\b")
# ... unless the sentence also says it was so before, or still is a struggle ("not always thinking
# about ...", "not anymore", "trying not to").
_PAST_OR_ONGOING = _compile(
    r"\b(?:always|anymore|any more|longer|used to|stopped|as much|as often|again|once|tryna|trying|try|hard|"
    r"struggl\w*)\b"
)

_CURE_DOUBT = _compile(
    rf"\b(?:{_NEGATION}|nothing|nobody|none|without|want|wants|wanted|wanting|hope|hoping|hopeful|wish|wishing|"
    r"need|needs|pray|praying|fight|fighting|look|looking|search|searching|seek|seeking|wait|waiting|until|til|"
    r"research|researching|researchers|scientists|trying|working|loss|someday|if|whether|closer|toward|towards|"
    r"fund|funding|raise|dream|ever|yet|find)\b"
)

_FIBRO = r"(?:fibro\w*|fms?)"
# "the cure for boredom" is not a health claim.
_NOT_HEALTH = (r"^\s+for\s+(?:boredom|hiccups|a\s+hangover|hangovers|loneliness|writer'?s\s+block|the\s+blues|"
               r"procrastination|stress\s+at\s+work)\b")
_WHOSE = r"(?:(?:my|your|her|his|the|this|their|our)\s+)"

CURE_RULES: tuple[_Rule, ...] = (
    _Rule("cured", r"\bcured\b", skip_questions=True,
          unless_after=r"^\s+(?:(?:meat|meats|ham|hams|bacon|salmon|sausages?|pork|fish|beef|salami|eggs?|yolks?)\b|"
                       r"of\s+(?:my\s+|the\s+|that\s+)?(?:fear|phobia|boredom|habit|love|shyness))"),
    _Rule("curable", r"\bcurable\b", skip_questions=True),
    _Rule("cures", r"\bcures\b", skip_questions=True),
    _Rule("cure",
          r"\b(?:will|can|could|would|may|might|does|did|to|that|which|it)\s+(?:completely\s+|totally\s+|fully\s+)?"
          r"cure\b", skip_questions=True),
    _Rule("cure", rf"\bcure\s+(?:your|my|her|his|their|our|this|it|{_FIBRO}|chronic|pain|all|every|everything|any)\b",
          skip_questions=True),
    _Rule("cure", r"\bcure[\s-]all\b"),
    _Rule("curing", rf"\bcuring\s+(?:my|your|her|his|the|this|it|{_FIBRO})\b", skip_questions=True),
    _Rule("healed|heals", r"\bheal(?:ed|s)\s+me\s+(?:completely|totally|fully|for\s+good|of)\b", skip_questions=True),
    _Rule("vanish|vanished|vanishes|disappear|disappeared|disappears|away",
          rf"\b{_FIBRO}\s+(?:(?:will|would|has|had|just|completely|totally|simply)\s+)*(?:vanish(?:ed|es)?|"
          r"disappear(?:ed|s)?|went\s+away|go\s+away|melted\s+away)\b", skip_questions=True),
    _Rule("toxin|toxins|parasite|parasites|candida|heavy",
          r"\b(?:removes?|flush(?:es)?|eliminates?|clears?|draws?)\s+(?:out\s+)?(?:the\s+|all\s+the\s+)?"
          r"(?:toxins?|parasites?|candida|heavy\s+metals)\b", skip_questions=True),
    _Rule("ditch|throw|stop",
          r"\b(?:ditch|throw\s+(?:away|out)|stop\s+taking)\s+(?:all\s+)?(?:your|the)\s+(?:pharma\w*|meds|medications?|"
          r"drugs|pills|prescriptions?)\b", check_denial=False),
    _Rule("fix|fixes|fixed", rf"\b(?:fix|fixes|fixed)\s+{_WHOSE}?{_FIBRO}\b", skip_questions=True),
    _Rule("good|forever|permanently|completely|ever|once",
          rf"\b(?:eliminates?|eliminated|eradicates?|eradicated|gets?\s+rid\s+of|got\s+rid\s+of|removes?|"
          rf"fix(?:es|ed)?|heals?|healed|cures?|cured|reverses?|reversed)\s+"
          rf"(?:it|{_FIBRO}|{_WHOSE}{_FIBRO}|the\s+(?:disease|condition|cause))"
          r"\s+(?:for\s+good|forever|permanently|completely|for\s+ever|once\s+and\s+for\s+all)\b", skip_questions=True),
    _Rule("cure",
          r"\b(?:is|was|'s|are|were)\s+(?:the|a|my)\s+(?:real\s+|only\s+|true\s+|natural\s+)?cure\b", skip_questions=True),
    _Rule("cure", r"\bfound\s+(?:a|the|my)\s+cure\b", skip_questions=True, unless_after=_NOT_HEALTH),
    _Rule("cure|fix|solution",
          r"\b(?:natural|permanent|total|complete|real|true|miracle|secret|guaranteed|proven|100%)\s+"
          r"(?:cure|fix|solution)\b", skip_questions=True, unless_after=_NOT_HEALTH),
    _Rule("revers*",
          rf"\brevers(?:e|es|ed|ing|al|ible)\s+(?:of\s+)?{_WHOSE}?(?:{_FIBRO}|disease|condition|illness|symptoms)\b",
          skip_questions=True),
    _Rule("reversed",
          rf"\b(?:{_FIBRO}|disease|it)\s+(?:can|could|will|was|has been)\s+(?:be\s+)?"
          r"(?:completely\s+|fully\s+|totally\s+)?reversed\b",
          skip_questions=True),
    _Rule("heal|heals|healed|healing",
          rf"\bheal(?:s|ed|ing)?\s+(?:from\s+|of\s+)?{_WHOSE}?{_FIBRO}\b", skip_questions=True),
    _Rule("ended|eliminated|eradicated|banished|erased",
          rf"\b(?:ended|eliminated|eradicated|banished|erased)\s+{_WHOSE}?{_FIBRO}\b", skip_questions=True),
    # "Fibro is just a magnesium deficiency": a single cause implies a simple cure.
    _Rule("deficiency|imbalance|infection|parasite|toxicity|overgrowth",
          rf"\b{_FIBRO}\s+is\s+(?:just|only|simply|really|actually)\s+(?:a|an)\s+(?:\w+\s+){{0,2}}?"
          r"(?:deficiency|imbalance|infection|parasite|toxicity|overgrowth)\b", skip_questions=True),
    _Rule("gone",
          rf"\b(?:fix|treat|correct|cure)\s+(?:that|this|it)\s+and\s+(?:it'?s|it\s+is|{_FIBRO}\s+is|your\s+{_FIBRO}\s+is)\s+"
          r"gone\b", skip_questions=True),
    _Rule("rid", rf"\b(?:get|got|gotten|getting)\s+rid\s+of\s+{_WHOSE}?{_FIBRO}\b", skip_questions=True),
    _Rule("gone", rf"\b{_FIBRO}\s+(?:is|was|has been|'s)\s+(?:completely\s+|totally\s+|100%\s+|fully\s+)?gone\b",
          skip_questions=True),
    _Rule("free", r"\bfibro\w*[\s-]?free\s+(?:for|since|forever|thanks|now)\b", skip_questions=True),
    _Rule("beat|beaten|defeated|conquered|overcame|overcome",
          rf"\b(?:beat|beaten|defeated|conquered|overcame|overcome)\s+(?:my\s+)?{_FIBRO}\s+"
          r"(?:for\s+good|forever|naturally|permanently|completely)\b"),
    _Rule("how", r"\bhow\s+i\s+(?:beat|cured|healed|reversed)\b"),
    _Rule("miracle",
          r"\bmiracle\s+(?:cure|pill|supplement|oil|remedy|treatment|product|drug|herb|tea|juice|powder|protocol|diet|"
          r"formula)s?\b"),
    _Rule("miraculous", r"\bmiraculous\s+(?:cure|recovery|results?)\b"),
    _Rule("100",
          r"\b100\s*(?:%|percent|per\s+cent)\s+(?:effective|guaranteed|cure|cured|success|results?|recovery)\b"),
    _Rule("100", r"\bworks\s+100\s*%"),
    _Rule("guarantee|guaranteed",
          r"\bguaranteed?\s+(?:to\s+(?:work|cure|heal|fix|reverse|help)|results|cure|relief|recovery)\b"),
    _Rule("guarantee|guarantees|guaranteed",
          r"\bguarantee[sd]?\s+(?:(?:this|it|that|you)\s+)?(?:will|to)\s+(?:work|cure|heal|fix|reverse|help)\b"),
    # Claims of hidden knowledge carry their own "don't": no denial check.
    _Rule("know", r"\b(?:doctors?|docs|pharma|big\s+pharma|drug\s+companies|pharmaceutical\s+companies|"
          r"the\s+medical\s+(?:industry|establishment)|they|the\s+government)\s+(?:don'?t|do\s+not|doesn'?t|"
          r"does\s+not|won'?t|will\s+not)\s+want\s+you\s+to\s+know\b", check_denial=False),
    _Rule("tell",
          r"\bwhat\s+(?:your\s+|the\s+)?doctors?\s+(?:may|might|will|won'?t|don'?t|do|does|doesn'?t|can'?t)\s*"
          r"(?:not\s+)?tell\s+you\b", check_denial=False),
    _Rule("secret", r"\bsecret\s+(?:to|of)\s+(?:beating|curing|reversing|healing|ending)\b", check_denial=False),
    _Rule("hidden|secret|quiet",
          r"\b(?:they|doctors|pharma|big\s+pharma|drug\s+companies)\s+(?:keep|keeps|kept|are\s+keeping)\s+(?:it\s+)?"
          r"(?:hidden|secret|quiet)\b", check_denial=False),
    _Rule("cure", r"\b(?:hiding|hide|hides|hid|suppressing|suppress|suppresses|burying|bury)\s+(?:the|a)\s+cure\b",
          check_denial=False),
)

# Guaifenesin and its misspellings ("guifenicin", "guafenesin"), "guai", and the protocol's author.
_GUAIFENESIN = _compile(r"\bgu[ai]{1,2}f[ae]n[aei]?[sc][iy]ne?\b|\bguai\b|\bst\.?\s*amand\b")
# A post that debunks guaifenesin is not promoting it ("proved to be bunkum", "didn't work for me").
_DEBUNK = _compile(
    r"\b(?:bunk|bunkum|debunk\w*|snake\s+oil|scam\w*|quack\w*|hoax|fraud\w*|disprov\w*|unproven|ineffective|"
    r"useless|nonsense|rubbish|no\s+evidence|not\s+proven|no\s+better\s+than\s+(?:a\s+)?placebo|"
    r"no\s+different\s+(?:from|than)\s+placebo|(?:placebo|trial|study|studies|research)\s+found\s+no|"
    r"found\s+no\s+(?:difference|benefit|effect)|no\s+(?:difference|benefit)\s+(?:from|over|compared)|"
    r"(?:didn'?t|did\s+not|failed\s+to)\s+pass|never\s+did\s+(?:a\s+thing|anything|much)|(?:did|does)\s+nothing|"
    r"didn'?t\s+do\s+(?:a\s+thing|anything)|failed\s+(?:the|its|a|in)\s+(?:trial|study|test)|"
    r"(?:not|no\s+more|never)\s+(?:at\s+all\s+)?effective|"
    r"(?:doesn'?t|didn'?t|does\s+not|did\s+not|never)\s+(?:work|help|do\s+anything)|waste\s+of\s+(?:money|time)|"
    r"don'?t\s+(?:try|buy|waste|bother))\b"
)
_DEBUNK_DENIED = _compile(
    r"\b(?:not|isn'?t|ain'?t|wasn'?t|never)\s+(?:a\s+)?(?:scam|snake\s+oil|bunk|quackery|hoax)\b"
)
# Guaifenesin is also a cough medicine: a post about a cold that never mentions fibro or pain is fine.
_COLD_TALK = _compile(r"\b(?:colds?|cough\w*|mucus|congest\w*|sinus\w*|chest|flu|phlegm)\b")
_FIBRO_TALK = _compile(r"\b(?:fibro\w*|fms?|pain\w*|revers\w*|protocol|amand|cure\w*)\b")


_GUAIFENESIN_ANCHORS = ("guai", "guaf", "guif", "guia", "amand")


class _RuleSet:
    """Rules compiled once, indexed by their anchor words, with how doubt before a match is read."""

    def __init__(self, rules: tuple[_Rule, ...], doubt: re.Pattern[str], doubt_words: int,
                 past_overrides_doubt: bool):
        self.rules = tuple((rule, *rule.compiled()) for rule in rules)
        self.doubt = doubt                                # words that cancel a match just after them
        self.doubt_words = doubt_words                    # how many words before the match to look at
        self.past_overrides_doubt = past_overrides_doubt  # "not always thinking about ..." still fires
        words: dict[str, set[int]] = {}
        starts: dict[str, set[int]] = {}
        for number, rule in enumerate(rules):
            for word in rule.anchor_words():
                if word.endswith("*"):
                    starts.setdefault(word[:-1], set()).add(number)
                else:
                    words.setdefault(word, set()).add(number)
        self.words = {word: frozenset(numbers) for word, numbers in words.items()}
        self.starts = tuple((start, frozenset(numbers)) for start, numbers in starts.items())

    def candidates(self, text: str, words: set[str]) -> list[int]:
        """The rules with an anchor in the post, in their written order."""
        found: set[int] = set()
        for word in words & self.words.keys():
            found |= self.words[word]
        for start, numbers in self.starts:
            if start in text:
                found |= numbers
        return sorted(found)

    def spans(self, text: str, words: set[str] | None = None, indexes: list[int] | None = None
              ) -> list[tuple[int, int]]:
        if indexes is None:
            indexes = self.candidates(text, set(_TOKEN.findall(text)) if words is None else words)
        spans = []
        for index in indexes:
            rule, pattern, after, before = self.rules[index]
            for match in pattern.finditer(text):
                if self._fires(text, match, rule, after, before):
                    spans.append(match.span())
                    break  # one phrase per rule is enough for the moderator, and keeps long posts fast
        return spans

    def _fires(self, text: str, match: re.Match[str], rule: _Rule, after: re.Pattern[str] | None,
               before: re.Pattern[str] | None) -> bool:
        """Does the context let this match stand?"""
        start, end = match.span()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            return False  # the word boundary the pattern's leading \b stood for
        sentence_start, sentence_end = _sentence(text, start, end)
        if before is not None and before.search(text, max(0, start - 20), start):
            return False
        if after is not None and after.search(text[end:sentence_end]):
            return False
        if rule.skip_questions and text[sentence_end : sentence_end + 1] == "?":
            return False
        if rule.skip_questions and text[start - 1 : start] == '"' and text[end : end + 1] == '"':
            return False  # "cures" in scare quotes
        if rule.check_denial and self.doubt.search(_words_before(text, sentence_start, start, self.doubt_words)):
            if not (self.past_overrides_doubt and _PAST_OR_ONGOING.search(text, sentence_start, sentence_end)):
                return False
        if rule.weak and _ABOUT_OTHERS.search(text, sentence_start, sentence_end):
            return False
        return True


# --- Context ------------------------------------------------------------------------------------

_SENTENCE_END = ".!?;\n"
# Context never reaches further than this, so a long post without full stops stays fast.
_MAX_SENTENCE_REACH = 300


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence holding text[start:end] begins and ends."""
    floor = max(0, start - _MAX_SENTENCE_REACH)
    begin = max(floor - 1, *(text.rfind(ch, floor, start) for ch in _SENTENCE_END)) + 1
    finish = min(len(text), end + _MAX_SENTENCE_REACH)
    for ch in _SENTENCE_END:
        at = text.find(ch, end, finish)
        if at != -1:
            finish = at
    return begin, finish


def _words_before(text: str, sentence_start: int, start: int, count: int) -> str:
    """The last `count` words of the clause before `start`."""
    before = text[max(sentence_start, start - 80) : start]
    parts = _CLAUSE_BREAK.split(before)
    return " ".join(parts[-1].split()[-count:])


# A denial sits right before what it denies ("I'm not suicidal"); a hope can be a little further
# ("I want a cure"). Past or ongoing struggle keeps a crisis match ("not always thinking about ...").
_CRISIS = _RuleSet(CRISIS_RULES, _CRISIS_DENIAL, doubt_words=3, past_overrides_doubt=True)
_CURE = _RuleSet(CURE_RULES, _CURE_DOUBT, doubt_words=4, past_overrides_doubt=False)


def _guaifenesin_spans(text: str) -> list[tuple[int, int]]:
    if not any(start in text for start in _GUAIFENESIN_ANCHORS):
        return []
    spans = [m.span() for m in _GUAIFENESIN.finditer(text)]
    if not spans:
        return []
    debunked = _DEBUNK.search(text) and not _DEBUNK_DENIED.search(text)
    about_a_cold = _COLD_TALK.search(text) and not _FIBRO_TALK.search(text)
    return [] if debunked or about_a_cold else spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined ("I was suicidal" and "suicidal" are one phrase)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


_DROP_INVISIBLE = str.maketrans({ch: None for ch in _INVISIBLE})
_MAX_PHRASE_LENGTH = 80  # "kiiiiii...ll myself" is shortened for the moderator's queue card


def _shortened(phrase: str) -> str:
    phrase = " ".join(phrase.translate(_DROP_INVISIBLE).split())
    if len(phrase) <= _MAX_PHRASE_LENGTH:
        return phrase
    half = _MAX_PHRASE_LENGTH // 2 - 1
    return phrase[:half] + "…" + phrase[-half:]


def _as_written(original: str, normalised: str, groups: list[list[tuple[int, int]]]) -> list[tuple[str, ...]]:
    """For each group of spans, the matched phrases as the member wrote them, in order, without repeats."""
    remapped, maps = _normalise_with_maps(original)
    result = []
    for spans in groups:
        phrases: list[str] = []
        for start, end in _merged(spans):
            if remapped == normalised:
                phrase = original[_original_position(maps, start) : _original_position(maps, end - 1) + 1]
            else:  # cannot happen while both normalisers agree; fall back to the normalised text
                phrase = normalised[start:end]
            phrase = _shortened(phrase)
            if phrase not in phrases:
                phrases.append(phrase)
        result.append(tuple(phrases))
    return result


def scan(text: str) -> SafetyScan:
    """Look for crisis language and unproven-cure claims in a member's post."""
    normalised = _normalise(text)
    words = set(_TOKEN.findall(normalised))
    crisis_spans = _CRISIS.spans(normalised, words)
    cure_spans = _CURE.spans(normalised, words)
    guaifenesin = _guaifenesin_spans(normalised)
    if not (crisis_spans or cure_spans or guaifenesin):
        return SafetyScan(crisis=False, cure_claim=False, flags=(), matched=())

    crisis = bool(crisis_spans)
    cure_claim = bool(cure_spans or guaifenesin)
    flags = tuple(flag for flag, on in ((CRISIS_FLAG, crisis), (CURE_CLAIM_FLAG, cure_claim)) if on)
    crisis_phrases, cure_phrases = _as_written(text, normalised, [crisis_spans, cure_spans + guaifenesin])
    matched = crisis_phrases + tuple(p for p in cure_phrases if p not in crisis_phrases)
    note = GUAIFENESIN_EVIDENCE_NOTE if guaifenesin else CURE_EVIDENCE_NOTE if cure_claim else None
    return SafetyScan(crisis=crisis, cure_claim=cure_claim, flags=flags, matched=matched, evidence_note=note)
