"""Which texts a server is offered (the comments of the articles it shows, its own approved
posts) and reading them: text, author, where it comes from, topics."""

from __future__ import annotations

from dataclasses import dataclass

from bot import library
from bot.quotes.model import (ANONYMOUS_MEMBER, ANONYMOUS_READER, ORIGIN_ARTICLE, ORIGIN_COMMENTS,
                              ORIGIN_COMMUNITY, fetch_rows)
from bot.storage import Database


# -- which articles' comments ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scope:
    articles: tuple[int, ...] | None    # the articles whose comments are offered; None: all of them
    named: bool                         # several articles: say which one a comment comes from

    def comments_sql(self, column: str) -> tuple[str, list]:
        """" AND <column> IN (the comments of these articles)", or nothing when every article counts."""
        if self.articles is None:
            return "", []
        marks = ",".join("?" * len(self.articles)) or "NULL"
        return f" AND {column} IN (SELECT id FROM comments WHERE article_id IN ({marks}))", list(self.articles)

    def tags_sql(self) -> tuple[str, list]:
        """The same for topic_tags rows, whose posts are never filtered."""
        if self.articles is None:
            return "", []
        marks = ",".join("?" * len(self.articles)) or "NULL"
        return (f" AND (source = 'post' OR item_id IN (SELECT id FROM comments WHERE article_id IN ({marks})))",
                list(self.articles))


EVERY_ARTICLE = Scope(None, False)


async def scope_of(db: Database, guild_id: int) -> Scope:
    shown = await library.shown_in(db, guild_id)
    return Scope(shown.comment_scope, shown.several)


# -- building quotes ------------------------------------------------------------------------

@dataclass
class Item:
    text: str
    author: str
    origin: str
    topics: tuple[str, ...] = ()
    stored_sensitive: bool = False


async def read_items(db: Database, guild_id: int, idents: list[tuple[str, int]], *,
                 with_topics: bool = True, scope: Scope = EVERY_ARTICLE) -> dict[tuple[str, int], Item]:
    """Text, author and topics (strongest first) of comments (of the articles in `scope`) and of
    this server's approved posts (others are left out), in one query."""
    selects, params = [], []
    comment_ids = [i for s, i in idents if s == "comment"]
    post_ids = [i for s, i in idents if s == "post"]
    if comment_ids:
        marks = ",".join("?" * len(comment_ids))
        in_scope, scope_params = scope.comments_sql("c.id")
        # The article's title rides in its own column (NULL in the other rows).
        selects.append("SELECT 'text', 'comment', c.id, c.author, 0, c.text, a.title, NULL FROM comments c"
                       f" JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks}){in_scope}")
        params += [*comment_ids, *scope_params]
    if post_ids:
        marks = ",".join("?" * len(post_ids))
        selects.append("SELECT 'text', 'post', id, author_name, anonymous, text, NULL, NULL FROM posts"
                       f" WHERE id IN ({marks}) AND guild_id = ? AND state = 'approved'")
        params += [*post_ids, guild_id]
    if with_topics:
        for source, ids in (("comment", comment_ids), ("post", post_ids)):
            if ids:
                selects.append("SELECT 'tag', source, item_id, topic, sensitive, NULL, NULL, score FROM topic_tags"
                               f" WHERE source = ? AND item_id IN ({','.join('?' * len(ids))})")
                params += [source, *ids]
    if not selects:
        return {}
    out: dict[tuple[str, int], Item] = {}
    tags: dict[tuple[str, int], list[tuple[float, str]]] = {}
    sensitive: set[tuple[str, int]] = set()
    for kind, source, item_id, name, flag, text, title, score in await fetch_rows(db, " UNION ALL ".join(selects), params):
        ident = (source, item_id)
        if kind == "tag":
            tags.setdefault(ident, []).append((-score, name))
            if flag:
                sensitive.add(ident)
        elif source == "comment":
            origin = ORIGIN_ARTICLE.format(title=title) if scope.named else ORIGIN_COMMENTS
            out[ident] = Item(text, name or ANONYMOUS_READER, origin)
        else:
            shown_name = None if flag else (name or "").strip()
            out[ident] = Item(text, shown_name or ANONYMOUS_MEMBER, ORIGIN_COMMUNITY)
    for ident, item in out.items():
        item.topics = tuple(topic for _score, topic in sorted(tags.get(ident, ())))
        item.stored_sensitive = ident in sensitive
    return out
