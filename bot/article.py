"""Parse a news article saved as plain text, with its reader comments, into structured parts.

The form: the headline (a page copy often repeats it), body paragraphs separated by blank lines,
a byline ("Authored by: ...", "By ..."), comment-widget furniture ("newest oldest", "Notify of"),
then the comments. Blank lines separate comments; a single newline continues one. A short line
holding only a name is the author of the comment that follows it, and "@ Name:" opens a reply.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

BYLINE = re.compile(r"^(?:authored|written|posted|reported)\s+by:?\s*(?P<who>.+)$|^by\s+(?P<who2>[^.!?]{3,80})$", re.I)
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

    @property
    def content_hash(self) -> str:
        body = {"title": self.title, "byline": self.byline, "paragraphs": self.paragraphs,
                "comments": [asdict(c) for c in self.comments]}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class ArticleFormatError(ValueError):
    """The text is not in the expected form (no title, or no body)."""


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
    return "\n".join(ln for ln in block.split("\n") if not FURNITURE.match(ln.strip()))


def parse_article(text: str) -> ParsedArticle:
    blocks = _blocks(text)
    if not blocks:
        raise ArticleFormatError("the file is empty")
    title = blocks[0].replace("\n", " ")
    i = 1
    while i < len(blocks) and blocks[i].replace("\n", " ") == title:
        i += 1  # page copies repeat the headline

    paragraphs: list[str] = []
    removed: list[str] = []
    byline = None
    while i < len(blocks):
        m = BYLINE.match(blocks[i])
        if m and "\n" not in blocks[i]:
            byline = (m.group("who") or m.group("who2")).strip()
            i += 1
            break
        para = blocks[i].replace("\n", " ")
        glued = GLUED_IMAGE.match(para)
        if glued:
            removed.append(glued.group("name"))
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
            removed.extend(ln for ln in block.split("\n") if FURNITURE.match(ln.strip()))
        if not cleaned:
            continue
        if is_name_line(cleaned):
            if pending_author is not None:  # two names in a row: the first had no comment
                removed.append(pending_author)
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
        removed.append(pending_author)
    return ParsedArticle(title=title, byline=byline, paragraphs=paragraphs, comments=comments, removed=removed)
