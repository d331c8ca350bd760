"""Parse a news article saved as plain text, with its reader comments, into structured parts.

The form: the headline (a page copy often repeats it), body paragraphs separated by blank lines,
a byline ("Authored by: ...", "By ...", "Story by ...", "— Name, Role"), comment-widget furniture
("newest oldest", "Notify of", "12 Comments"), then the comments. The byline may also come right
after the headline; then the body runs to the comment widget (or to the end: an article without
comments). Blank lines separate comments; a single newline continues one. A short line holding only
a name is the author of the comment that follows it, and "@ Name:" opens a reply (to a comment or to
another reply). A block of list items ("- ", "* ", "1. ") stays one paragraph, an item a sentence.

Markdown (`markdown_to_text`) is read by taking off its markup first: headings, emphasis, links
(their text stays) and images (dropped, and reported).

Everything dropped is kept in `removed`, and `why` says for each why it was dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

BYLINE = re.compile(
    r"^(?:authored|written|posted|reported|story|reporting|words)\s+by:?\s*(?P<who>.+)$"
    r"|^by:?\s+(?P<who2>[^.!?]{3,80})$"
    r"|^[\u2014\u2013-]{1,2}\s*(?P<who3>[^\W\d_][^.!?]{2,80})$",
    re.I)
# Text a comment widget leaves on the page: sort tabs, subscribe links, counters.
FURNITURE = re.compile(
    r"^(?:newest|oldest|most voted|inline feedbacks?|view all comments|notify of|subscribe|login|"
    r"log in|\d+\s+comments?|leave a (?:reply|comment)|reply|share|newest oldest(?: most voted)?)$",
    re.I,
)
# A stock-photo file name glued to the start of a paragraph: "bigstock-Human-brain-...-11863427“In ..."
GLUED_IMAGE = re.compile(
    r"^(?P<name>[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*(?:[-_]\d{4,}|\.(?:jpe?g|png|gif|webp)))(?=[^\s\-_A-Za-z0-9]|[A-Z])"
)
# "12 Comments", "Comments (3)", "Join the discussion": where a comment section starts.
COMMENTS_START = re.compile(r"^(?:\d+\s+(?:comments?|responses?|replies)|comments?(?:\s*\(\d+\))?|"
                            r"join the (?:discussion|conversation)|reader comments|newest oldest.*|leave a (?:reply|comment))$", re.I)
LIST_ITEM = re.compile(r"^(?:[-*\u2022]|\d{1,2}[.)])\s+")
REPLY_OPENER = re.compile(r"^@\s*(?P<name>[^:\n]{1,40}):\s*")
# Words that never stand alone as a person's name ("Thank you", "So true").
NOT_NAME_WORDS = {
    "i", "you", "me", "my", "we", "the", "a", "an", "and", "or", "so", "yes", "no", "thanks", "thank",
    "true", "same", "agreed", "amen", "this", "that", "it", "is", "wow", "great", "hugs", "ok", "okay",
    "sorry", "lol", "me too", "too", "god", "bless", "love", "all", "of", "to", "in", "on", "for",
}
NAME_LINE = re.compile(r"^[^\W\d_][\w'’.\-]*(?:\s+[^\W\d_][\w'’.\-]*){0,3}$")


@dataclass(frozen=True)
class Comment:
    position: int
    text: str
    author: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class ParsedArticle:
    title: str
    byline: str | None
    paragraphs: list[str]
    comments: list[Comment]
    removed: list[str] = field(default_factory=list)  # what was dropped, for the ingest report
    why: dict[str, str] = field(default_factory=dict)  # each dropped text -> why it was dropped

    @property
    def content_hash(self) -> str:
        body = {"title": self.title, "byline": self.byline, "paragraphs": self.paragraphs,
                "comments": [asdict(c) for c in self.comments]}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class ArticleFormatError(ValueError):
    """The text is not in the expected form (no title, or no body)."""


GLUED_WHY = "a stock-photo file name stuck to the start of a paragraph"
FURNITURE_WHY = "text of the page's comment box (sorting, subscribe links, counters)"
LONE_NAME_WHY = "a name with no comment after it"
IMAGE_WHY = "a Markdown image (the bot reads text only)"


def markdown_to_text(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Markdown as the plain text `parse_article` reads, and what was dropped (text, why)."""
    dropped: list[tuple[str, str]] = []

    def image(m: re.Match[str]) -> str:
        dropped.append((m.group(0), IMAGE_WHY))
        return ""

    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", image, text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)                  # [text](address) -> text
    text = re.sub(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", r"\1", text, flags=re.M)  # headings
    text = re.sub(r"^[ \t]{0,3}(?:[-*_][ \t]*){3,}$", "", text, flags=re.M)         # rules
    text = re.sub(r"^[ \t]{0,3}>[ \t]?", "", text, flags=re.M)                       # block quotes
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)            # bold
    text = re.sub(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])", r"\2", text)  # italics
    text = re.sub(r"`([^`]+)`", r"\1", text)
    return text, dropped


def _list_paragraph(block: str) -> str | None:
    """A block whose lines are list items, as one paragraph with each item a sentence; None otherwise."""
    lines = block.split("\n")
    if len(lines) < 2 or not all(LIST_ITEM.match(ln) for ln in lines[1:]):
        return None
    head = [] if LIST_ITEM.match(lines[0]) else [lines.pop(0)]
    items = []
    for ln in lines:
        item = LIST_ITEM.sub("", ln).strip()
        item = item[:1].upper() + item[1:]
        if item and item[-1] not in ".!?:;":
            item += "."
        items.append(item)
    return " ".join(head + items)


def _blocks(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    blocks = []
    for raw in re.split(r"\n[ \t]*\n", text):
        lines = [ln.strip() for ln in raw.split("\n")]
        block = "\n".join(ln for ln in lines if ln)
        if block:
            blocks.append(block)
    return blocks


def is_name_line(block: str) -> bool:
    """A short line holding only a person's name: one line, 2-4 words (or one capitalised word)."""
    if "\n" in block or len(block) > 40 or not NAME_LINE.match(block):
        return False
    words = block.split()
    if any(w.lower().strip(".") in NOT_NAME_WORDS for w in words):
        return False
    if len(words) == 1:
        return block[0].isupper() and len(block) >= 3
    return True


def _strip_furniture(block: str) -> str:
    return "\n".join(ln for ln in block.split("\n")
                     if not FURNITURE.match(ln.strip()) and not COMMENTS_START.match(ln.strip()))


def parse_article(text: str, *, markdown: bool = False) -> ParsedArticle:
    pre_dropped: list[tuple[str, str]] = []
    if markdown:
        text, pre_dropped = markdown_to_text(text)
    blocks = _blocks(text)
    if not blocks:
        raise ArticleFormatError("the file is empty")
    title = blocks[0].replace("\n", " ")
    i = 1
    while i < len(blocks) and blocks[i].replace("\n", " ") == title:
        i += 1  # page copies repeat the headline

    paragraphs: list[str] = []
    removed: list[str] = []
    why: dict[str, str] = {}

    def drop(piece: str, reason: str) -> None:
        removed.append(piece)
        why.setdefault(piece, reason)

    for piece, reason in pre_dropped:
        drop(piece, reason)
    byline = None
    byline_first = False
    while i < len(blocks):
        m = BYLINE.match(blocks[i])
        if m and "\n" not in blocks[i] and byline is None:
            byline = (m.group("who") or m.group("who2") or m.group("who3")).strip()
            i += 1
            if paragraphs:
                break
            byline_first = True  # the byline under the headline: the body runs to the comments
            continue
        if byline_first and COMMENTS_START.match(blocks[i].split("\n")[0].strip()):
            break
        para = _list_paragraph(blocks[i]) or blocks[i].replace("\n", " ")
        glued = GLUED_IMAGE.match(para)
        if glued:
            drop(glued.group("name"), GLUED_WHY)
            para = para[glued.end():].lstrip()
        paragraphs.append(para)
        i += 1
    if not paragraphs:
        raise ArticleFormatError("no body paragraphs after the title")

    comments: list[Comment] = []
    pending_author: str | None = None
    for block in blocks[i:]:
        cleaned = _strip_furniture(block)
        if cleaned != block:
            for ln in block.split("\n"):
                if FURNITURE.match(ln.strip()) or COMMENTS_START.match(ln.strip()):
                    drop(ln, FURNITURE_WHY)
        if not cleaned:
            continue
        if is_name_line(cleaned):
            if pending_author is not None:  # two names in a row: the first had no comment
                drop(pending_author, LONE_NAME_WHY)
            pending_author = cleaned
            continue
        reply_to = None
        m = REPLY_OPENER.match(cleaned)
        if m:
            reply_to = m.group("name").strip()
            cleaned = cleaned[m.end():].strip()
        comments.append(Comment(position=len(comments) + 1, text=cleaned,
                                author=pending_author, reply_to=reply_to))
        pending_author = None
    if pending_author is not None:
        drop(pending_author, LONE_NAME_WHY)
    return ParsedArticle(title=title, byline=byline, paragraphs=paragraphs, comments=comments, removed=removed, why=why)
