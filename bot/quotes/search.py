"""The search itself (`find_quotes`) and a quote in full (`get_quote`): candidates ranked,
built into quotes with their excerpts, and what was shown recorded."""

from __future__ import annotations

import asyncio

from bot import topics
from bot.errors import UserFacingError
from bot.guild_settings import GuildConfig
from bot.quotes.browse import topics_to_suggest
from bot.quotes.excerpts import excerpt_for
from bot.quotes import history
from bot.quotes.model import MAX_COUNT, MAX_QUERY_LENGTH, Quote, QuoteNotFound, QuoteResult
from bot.quotes.ranking import TEXT_KEY, Candidate, gather_candidates, may_offer
from bot.quotes.source import EVERY_ARTICLE, Scope, read_items, scope_of
from bot.quotes.texts import facts_of
from bot.storage import Database
from bot.text import fold, words


# -- the search -----------------------------------------------------------------------------

def query_key(query: str) -> str:
    """What "the same search" means for "Another": the words, folded, single-spaced."""
    return " ".join(fold(query).split())[:MAX_QUERY_LENGTH]


async def find_quotes(
    db: Database, *, guild_id: int, query: str, user_id: int, channel_id: int | None,
    count: int = 1, another: bool = False, record_in_background: bool = False,
    record_after: asyncio.Event | None = None,
    config: GuildConfig | None = None,
) -> QuoteResult:
    """The best quotes for `query` in this server, and what was shown is recorded.

    `another=True` continues the member's last search for the same words, never repeating a
    quote until none are left (then `quotes` is empty and `exhausted` True). `exhausted` is also
    True when the quotes returned are the last ones, so the reply can say so at once.

    `record_in_background=True` returns before the record of what was shown is committed, so that
    the reply need not wait for the write: the next search in this server that reads the record
    ("Another", a channel's last quote) waits for it, and `records_written` waits for all of them.
    With `record_after`, the write starts only once that event is set (the reply was sent).

    `config`: the server's settings when the caller has read them already.
    """
    key = query_key(query)
    if not key:
        raise UserFacingError("Type a topic, or a few words to look for in what people wrote.")
    count = max(1, min(int(count), MAX_COUNT))
    match = topics.match_query(key)
    scope = await scope_of(db, guild_id, config)
    if match.empty:
        return QuoteResult(query=key, matched_topics=(), quotes=(), exhausted=True,
                           nearest_topics=tuple(await topics_to_suggest(db, guild_id, key, match, scope=scope)))

    # What was shown before comes in the candidates' own trip to the database.
    was_shown = history.ShownQuery(guild_id, user_id, channel_id, key if another else None)
    await was_shown.ready(db)
    candidates = await gather_candidates(db, guild_id, match, scope=scope, shown=was_shown)
    seen, last = was_shown.seen, was_shown.last
    # Only texts that speak to the search: never others to fill the reply.
    ranked = [c for c in candidates.values() if c.speaks and may_offer(c, match)]
    # Texts that answer every part of the search first ("waking up in pain": sleep and pain),
    # then the most relevant; ties go to what this channel was not just given.
    ranked.sort(key=lambda c: (-c.coverage, -round(c.relevance, 6), c.ident == last, c.source != "comment", c.item_id))
    remaining = [c for c in ranked if c.ident not in seen]
    if len(remaining) > 1 and remaining[0].ident == last:
        # The channel was just given this quote: give the next one first.
        remaining[0], remaining[1] = remaining[1], remaining[0]

    quotes: list[Quote] = []
    used = 0
    while remaining[used:] and len(quotes) < count:
        batch = remaining[used:used + count - len(quotes)]
        used += len(batch)
        quotes.extend(await build_quotes(db, guild_id, batch, match, scope))
    left = len(remaining) - used

    if not quotes and not another:
        return QuoteResult(query=key, matched_topics=match.topics, quotes=(), exhausted=True,
                           nearest_topics=tuple(await topics_to_suggest(db, guild_id, key, match, scope=scope)),
                           corrections=match.corrections, seen_all=bool(ranked))
    nearest: tuple[str, ...] = ()
    if len(quotes) < count and not another:
        # Fewer than asked for: the reply says so and offers the topics nearest the search.
        suggested = await topics_to_suggest(db, guild_id, key, match, exclude_topic_only=match.topic_only, scope=scope)
        nearest = tuple(t for t in suggested if not (match.topic_only and t in match.topics))
    shown = [(q.source, q.item_id) for q in quotes]
    if record_in_background:
        history.record_in_background(db, guild_id, user_id, channel_id, key, shown, fresh=not another,
                                     after=record_after)
    else:
        await history.record(db, guild_id, user_id, channel_id, key, shown, fresh=not another)
    return QuoteResult(
        query=key, matched_topics=match.topics, quotes=tuple(quotes), exhausted=left <= 0,
        corrections=match.corrections, remaining=max(left, 0), nearest_topics=nearest,
    )


async def build_quotes(db: Database, guild_id: int, batch: list[Candidate], match: topics.QueryMatch,
                        scope: Scope = EVERY_ARTICLE) -> list[Quote]:
    items = await read_items(db, guild_id, [c.ident for c in batch], scope=scope)
    out = []
    tax = topics.taxonomy()
    typed = typed_words(match.text)
    for c in batch:
        item = items.get(c.ident)
        if item is None or not item.text.strip():
            continue
        text = item.text
        facts = item.facts or facts_of(text)
        if facts.crisis and not c.sensitive:
            # The safety detector learnt something since the text was tagged: check again.
            c.sensitive = True
            if not may_offer(c, match):
                continue
        excerpt, trimmed = excerpt_for(text, match)
        matched = [tax.readable_term(t, k) for t in match.topics for k in sorted(match.keys.get(t, ()))
                   if k and k in c.keys.get(t, ())]
        matched += [typed.get(k[1:], k[1:]) for t in match.topics for k in sorted(c.keys.get(t, ()))
                    if k.startswith(TEXT_KEY)]
        matched += [typed.get(w, w) for w in match.free_terms if w in c.free_hits]
        out.append(Quote(
            source=c.source, item_id=c.item_id, author_label=item.author, origin_label=item.origin,
            topics=item.topics, excerpt=excerpt, full_text=text,
            trimmed=trimmed, sensitive=c.sensitive or facts.crisis,
            cure_note=facts.cure_note, matched=tuple(dict.fromkeys(matched)),
        ))
    return out


def typed_words(text: str) -> dict[str, str]:
    """Stem -> the word as the member typed it."""
    return {topics.stem(w): w for w in reversed(words(text))}


async def get_quote(db: Database, source: str, item_id: int, guild_id: int,
                    config: GuildConfig | None = None) -> Quote:
    """One quote in full ("read in full"). A post from another server, or one no longer
    approved, is not returned: `QuoteNotFound`. `config`: the server's settings when the caller
    has read them already."""
    if source not in ("comment", "post"):
        raise QuoteNotFound("That quote could not be found.")
    scope = await scope_of(db, guild_id, config) if source == "comment" else EVERY_ARTICLE
    item = (await read_items(db, guild_id, [(source, int(item_id))], scope=scope)).get((source, int(item_id)))
    if item is None or not item.text.strip():
        raise QuoteNotFound("That quote is no longer available: it may have been withdrawn.")
    text = item.text
    facts = item.facts or facts_of(text)
    return Quote(
        source=source, item_id=int(item_id), author_label=item.author, origin_label=item.origin,
        topics=item.topics, excerpt=text, full_text=text, trimmed=False,
        sensitive=item.stored_sensitive or facts.crisis, cure_note=facts.cure_note,
    )
