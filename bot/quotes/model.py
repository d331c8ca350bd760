"""What a quote search returns, and the figures and wording it shares: plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UserFacingError
from bot.storage import Database


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

# A word of the search found in the text counts this much more than a topic's score.
DIRECT_BONUS = 5.0
# Texts of about this many words count as focused; longer ones have their score spread thinner.
FOCUS_WORDS = 120

# The same formula in SQL (ordering candidates; the index topic_tags_rank in migrations 0003 and 0017 is
# built on exactly this expression) and in Python (ranking them).
DENSITY_SQL = f"score / (1.0 + length / {FOCUS_WORDS}.0)"


def density(score: float, length: int) -> float:
    return score / (1.0 + length / FOCUS_WORDS)


async def fetch_rows(db: Database, sql: str, params=()) -> list:
    """Rows of one query in a single trip to the database thread (a search makes a handful)."""
    return list(await db.conn.execute_fetchall(sql, tuple(params)))


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
