"""Topics with how many quotes a server can be offered under each, their sample lines, the
topic option's autocomplete, and the topics to suggest when a search finds little."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from bot import topics
from bot.guild_settings import GuildConfig
from bot.quotes.excerpts import sample_phrase
from bot.quotes.model import DENSITY_SQL, MAX_QUERY_LENGTH, TopicCount, fetch_rows
from bot.quotes.source import EVERY_ARTICLE, Scope, read_items, scope_of
from bot.quotes.texts import TextFacts, facts_of
from bot.storage import Database
from bot.text import fold


# -- topics with counts ---------------------------------------------------------------------

def _sensitive_topics() -> tuple[str, ...]:
    return tuple(t.name for t in topics.taxonomy().topics.values() if t.allows_sensitive) or ("",)


async def topic_counts(db: Database, guild_id: int, *, samples: bool = True, config: GuildConfig | None = None,
                       scope: Scope | None = None) -> list[TopicCount]:
    """Every topic with how many quotes this server can be offered under it (the article's
    comments and the server's approved posts), in the taxonomy's order. `samples=False` skips
    the sample phrases (autocomplete needs only the counts)."""
    tax = topics.taxonomy()
    allowed = _sensitive_topics()
    marks = ",".join("?" * len(allowed))
    scope = scope or await scope_of(db, guild_id, config)
    in_scope, scope_params = scope.tags_sql()
    rows = await fetch_rows(
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


async def _sample_phrases(db: Database, guild_id: int, scope: Scope = EVERY_ARTICLE) -> dict[str, tuple[str, str | None]]:
    """Per topic, a line of its best quote and the evidence note when that line claims a cure."""
    in_scope, scope_params = scope.tags_sql()
    rows = await fetch_rows(
        db,
        "SELECT topic, source, item_id FROM ("
        " SELECT topic, source, item_id, ROW_NUMBER() OVER ("
        f"  PARTITION BY topic ORDER BY {DENSITY_SQL} DESC, source, item_id) AS place"
        f" FROM topic_tags WHERE guild_id IN (?, ?) AND quotable = 1 AND sensitive = 0{in_scope}) AS ranked"
        " WHERE place = 1",
        (topics.COMMENTS_GUILD, guild_id, *scope_params),
    )
    texts = await read_items(db, guild_id, [(r["source"], r["item_id"]) for r in rows], with_topics=False, scope=scope)
    out = {}
    for r in rows:
        item = texts.get((r["source"], r["item_id"]))
        if item is None:
            continue
        match = topics.QueryMatch(text=r["topic"], topics=(r["topic"],), keys={r["topic"]: frozenset({""})},
                                  topic_only=True)
        line = sample_phrase(item.text, match)
        out[r["topic"]] = (line, _line_note(line, item.text, item.facts))
    return out


# Words that carry a cure claim's subject. A line shown on its own gets an evidence note only when it
# speaks of one: the models read whole posts, and a line cut from one can look like a claim it is not.
_CLAIM_WORDS = re.compile(r"\bcur(?:e|ed|es|ing)\b|revers|guai|\bheal|remission|protocol|miracle|\bgone\b|\bfixed\b",
                          re.IGNORECASE)


def _line_note(line: str, text: str, facts: TextFacts | None = None) -> str | None:
    """The evidence note a line shown on its own needs: when it speaks of a cure and makes the claim
    itself, or shows the claim of the text it comes from ("he talks about reversing the disease with
    guaifenesin" reports what the whole comment promotes). `facts`: the text's, when stored (a post's)."""
    if not _CLAIM_WORDS.search(line):
        return None
    return facts_of(line).cure_note or (facts or facts_of(text)).cure_note


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

async def topics_to_suggest(db: Database, guild_id: int, query: str, match: topics.QueryMatch, limit: int = 3,
                            exclude_topic_only: bool = False, scope: Scope | None = None) -> list[str]:
    """Topics to suggest when few or no texts speak to the search: the topics the search was read
    as (a search for "pregnancy" leads to Hormones), those that look most like it, then the ones
    with the most quotes; never a topic with nothing to show."""
    counts = {c.name: c.count for c in await topic_counts(db, guild_id, samples=False, scope=scope)}
    read_as = [] if exclude_topic_only else [t for t in match.topics if counts.get(t)]
    out = read_as + [t for t in topics.taxonomy().nearest_topics(query, limit=limit * 2)
                     if counts.get(t) and t not in read_as]
    for name, _n in sorted(counts.items(), key=lambda kv: -kv[1]):
        if len(out) >= limit:
            break
        if _n and name not in out:
            out.append(name)
    return out[:limit]
