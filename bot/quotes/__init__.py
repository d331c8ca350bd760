"""Community voices: find quotes on a topic among the reader comments of the articles a server
shows and that server's approved member posts.

How a search is answered (`find_quotes`):
1. `bot.topics.match_query` reads the search: topic names and aliases, terms and phrases, typos.
2. Candidates come from the stored topic tags (`topic_tags`), per server and topic, so a search
   never reads other servers' rows; words the taxonomy does not know are looked for in the text:
   the comments through their FTS5 index, the server's posts by a bounded scan of its newest
   approved posts.
3. Ranking: texts that answer every part of the search first; then relevance: how strongly the
   text speaks of the topics (a short focused text beats a long one that mentions it once), plus
   a large bonus for each word of the search found in the text.
4. Quotes about self-harm or suicide are offered only for a mental-health search or when the
   text itself matches every part of the search; they come back marked `sensitive`, for the
   reply to put behind a spoiler with a content note and crisis resources.
5. "Another" skips what this member was already shown for the same search; a new search starts
   over. A channel is not given the quote it was given last time when there is another one.

Which articles' comments a server is offered is read from the library (`bot.library`): every
article when it shows them all (the search then reads exactly as it did with one article), and
only its own when it turned some off or other servers uploaded their own. A server that shows more
than one article is told which article each comment comes from.

Nothing here imports discord: the functions return plain dataclasses. The package in parts:
`model` (what is returned), `texts` (what is worked out once per text), `source` (which texts a
server is offered), `ranking` (candidates and relevance), `excerpts` (fitting a quote to a reply),
`history` (what was shown), `browse` (topics with counts, autocomplete), `search` (the search).
"""

from __future__ import annotations

from bot.quotes.browse import autocomplete_topics, topic_counts
from bot.quotes.excerpts import excerpt_for, sample_phrase
from bot.quotes.history import (export_member_rows, forget_guild, forget_member, prune_history, record_shared,
                                records_written)
from bot.quotes.model import (ANONYMOUS_MEMBER, ANONYMOUS_READER, EXCERPT_LIMIT, MAX_COUNT, MAX_QUERY_LENGTH,
                              ORIGIN_ARTICLE, ORIGIN_COMMENTS, ORIGIN_COMMUNITY, SAMPLE_PHRASE_LIMIT, Quote,
                              QuoteNotFound, QuoteResult, TopicCount)
from bot.quotes.search import find_quotes, get_quote, query_key
from bot.quotes.texts import clear_caches, text_digest, warm_up

__all__ = [
    "ANONYMOUS_MEMBER", "ANONYMOUS_READER", "EXCERPT_LIMIT", "MAX_COUNT", "MAX_QUERY_LENGTH", "ORIGIN_ARTICLE",
    "ORIGIN_COMMENTS", "ORIGIN_COMMUNITY", "SAMPLE_PHRASE_LIMIT", "Quote", "QuoteNotFound", "QuoteResult",
    "TopicCount", "autocomplete_topics", "clear_caches", "excerpt_for", "export_member_rows", "find_quotes",
    "forget_guild", "forget_member", "get_quote", "prune_history", "query_key", "record_shared", "records_written",
    "sample_phrase", "text_digest", "topic_counts", "warm_up",
]
