"""Cleaning what members type before it is stored or shown again.

`clean_post_text(text)` is the one door for a member's post (and, with `what=`, for a rejection
reason or a topic hint):

- removes NUL and the other control characters (tabs and newlines stay), bidirectional controls
  (U+202A-202E, U+2066-2069, U+200E/U+200F, U+061C: they can make text display in a different
  order from how it reads, to disguise a link or a word), zero-width spaces, word joiners, byte
  order marks, soft hyphens, Unicode tag characters (U+E0000 to U+E007F: invisible, they can
  carry hidden text) and lone surrogates (which cannot even be stored as UTF-8). Zero-width
  joiners stay: family and skin-tone emoji and several scripts need them;
- makes every line ending "\\n", drops spaces at line ends, keeps at most one blank line in a row,
  and strips the ends;
- refuses text with nothing visible in it (empty, spaces, only zero-width or combining
  characters), and text shorter or longer than the limits, with a `UserFacingError` that says the
  limit; nothing is stored;
- neutralises mentions so they can never ping, whatever `allowed_mentions` a later change sets:
  `@everyone` and `@here` get a zero-width space after the "@" (they read the same), and
  `<@123>`, `<@!123>`, `<@&123>`, `<#123>` become the plain words "@user", "@role", "#channel"
  (the ids mean nothing to readers, and a post must not point at anyone);
- flags for the moderator: "invite_link" (discord.gg/..., discord.com/invite/...), "markdown_link"
  ([text](url) shows text that can hide where the link goes), "link" (any other web address),
  "mentions_neutralised", and "hidden_characters_removed" (control or bidirectional characters
  were taken out: worth a look, it is how text is disguised).

Lengths are counted in characters of the cleaned text, before mentions are neutralised, so the
number in the error is the number the member can see. Neutralising `@everyone` adds one invisible
character per mention; the stored text must still fit `max_len` (what is stored is what a moderator
reviews, whole), and a text that only fits without those characters is refused with a message that
says so. Text many times longer than the limit is refused before any cleaning, and every pattern
here runs in time linear in the text's length.

`neutralise_mentions(text)` and `remove_hidden_characters(text)` are there for any other text the
bot repeats in a message's content (quoted comments, names): mentions do not ping inside embeds,
but they do in content.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.errors import UserFacingError

__all__ = [
    "CleanedText", "clean_post_text", "neutralise_mentions", "remove_hidden_characters", "ZERO_WIDTH_SPACE",
    "INVITE_LINK", "MARKDOWN_LINK", "LINK", "MENTIONS_NEUTRALISED", "HIDDEN_CHARACTERS_REMOVED",
]

ZERO_WIDTH_SPACE = "\u200b"
# Text longer than this many times the limit is refused before it is cleaned (cleaning only shortens
# text, and only by what was hidden in it).
RAW_LENGTH_FACTOR = 4

# Flags for the moderator.
INVITE_LINK = "invite_link"
MARKDOWN_LINK = "markdown_link"
LINK = "link"
MENTIONS_NEUTRALISED = "mentions_neutralised"
HIDDEN_CHARACTERS_REMOVED = "hidden_characters_removed"


@dataclass(frozen=True)
class CleanedText:
    text: str
    flags: tuple[str, ...]


# Characters that are worth telling the moderator about when removed: control characters (C0 and
# C1; \t and \n are kept, \r is a line ending), bidirectional controls, lone surrogates.
_SUSPICIOUS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\U000e0000-\U000e007f]"
)
# Invisible characters removed without a flag: zero-width space, word joiner and invisible
# operators, deprecated format controls, byte order mark, soft hyphen, Mongolian vowel separator,
# interlinear annotation marks.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb]")
_LINE_BREAKS = re.compile("\r\n|[\r\u0085\u2028\u2029]")
_SPACES_AT_LINE_END = re.compile(r"[^\S\n]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
# Characters that look like nothing although they are not spaces ("Hangul filler", braille blank).
_BLANK_LOOKING = frozenset("\u115f\u1160\u2800\u3164\uffa0")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Mn", "Me", "Zs", "Zl", "Zp"})

# Mentions. Discord only reads ASCII digits; any digit is neutralised, to be safe.
_ID_MENTION = re.compile(r"<(@[!&]?|#)\d+>")
_ID_MENTION_AS_TEXT = {"@": "@user", "@!": "@user", "@&": "@role", "#": "#channel"}
_MASS_MENTION = re.compile(r"@[\u200b\u200c\u200d\u2060\ufeff\u00ad]*(everyone|here)", re.IGNORECASE)

_INVITE = re.compile(
    r"(?:https?://)?(?:www\.)?(?:discord(?:app)?\s*\.\s*com\s*/\s*invite|discord\s*\.\s*(?:gg|io|me|li)|dsc\s*\.\s*gg)"
    r"\s*/\s*[\w-]+",
    re.IGNORECASE,
)
# [text](address "title"), where the address holds a ".", ":" or "/". Linear in the text's length:
# the text and the title are bounded, every run is possessive, and an address stops at "]", so the
# address of one link can never run over the start of the next ("[](." repeated is no harder than
# any other text).
_MARKDOWN_LINK = re.compile(
    r"\[[^\[\]\n]{0,500}+\]\(\s*+[^\s)\].:/]*+[.:/][^\s)\]]*+(?:\s++\"[^\"\n]{0,500}+\")?+\s*+\)"
)
_WEB_ADDRESS = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)


def remove_hidden_characters(text: str) -> str:
    """`text` without control, bidirectional or zero-width characters (tabs and newlines stay)."""
    return _INVISIBLE.sub("", _SUSPICIOUS.sub("", _LINE_BREAKS.sub("\n", text)))


def _mention_as_text(match: re.Match[str]) -> str:
    return _ID_MENTION_AS_TEXT[match.group(1)]


def neutralise_mentions(text: str) -> str:
    """`text` with no mention that could ping: "@\u200beveryone", "@\u200bhere", "@user", "@role", "#channel"."""
    while True:  # one pass is enough; repeating until nothing changes proves it
        changed = _MASS_MENTION.sub("@" + ZERO_WIDTH_SPACE + r"\1", _ID_MENTION.sub(_mention_as_text, text))
        if changed == text:
            return text
        text = changed


def _is_visible(ch: str) -> bool:
    return unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_LOOKING


def _characters(count: int) -> str:
    return f"{count:,} character" + ("" if count == 1 else "s")


def clean_post_text(text: str, *, min_len: int = 10, max_len: int = 4000, what: str = "post") -> CleanedText:
    """The member's text made safe to store and show, with flags for the moderator.

    Raises UserFacingError (nothing should be saved) when nothing visible is left or the length is
    outside the limits. `what` names the text in those messages ("post", "reason", "topic hint").
    """
    flags: list[str] = []
    text = text or ""
    if len(text) > max_len * RAW_LENGTH_FACTOR:  # cleaning only ever shortens: no need to clean this
        raise UserFacingError(
            f"Your {what} is {_characters(len(text))}; the limit is {max_len:,}. "
            "Nothing was saved; please shorten it and send it again."
        )
    text = _LINE_BREAKS.sub("\n", text)
    without_suspicious = _SUSPICIOUS.sub("", text)
    if without_suspicious != text:
        flags.append(HIDDEN_CHARACTERS_REMOVED)
    text = _INVISIBLE.sub("", without_suspicious)
    text = _BLANK_LINES.sub("\n\n", _SPACES_AT_LINE_END.sub("\n", text)).strip()

    if not any(_is_visible(ch) for ch in text):
        raise UserFacingError(
            f"Your {what} looks empty: it has no visible characters. Nothing was saved; please write a few words."
        )
    if len(text) < min_len:
        raise UserFacingError(
            f"Your {what} is {_characters(len(text))}; please write at least {_characters(min_len)}. "
            "Nothing was saved."
        )
    if len(text) > max_len:
        raise UserFacingError(
            f"Your {what} is {_characters(len(text))}; the limit is {max_len:,}. "
            "Nothing was saved; please shorten it and send it again."
        )

    if _INVITE.search(text):
        flags.append(INVITE_LINK)
    if _MARKDOWN_LINK.search(text):
        flags.append(MARKDOWN_LINK)
    if _WEB_ADDRESS.search(_INVITE.sub(" ", text)):
        flags.append(LINK)
    neutral = neutralise_mentions(text)
    if neutral != text:
        flags.append(MENTIONS_NEUTRALISED)
    if len(neutral) > max_len:
        # What is stored is what a moderator reviews: it must fit as a whole, never cut.
        raise UserFacingError(
            f"Your {what} is {_characters(len(text))}, but making its @everyone and @here mentions harmless "
            f"adds a hidden character to each, which makes it {_characters(len(neutral))}; the limit is "
            f"{max_len:,}. Nothing was saved; please remove some of those mentions or shorten it."
        )
    return CleanedText(neutral, tuple(flags))
