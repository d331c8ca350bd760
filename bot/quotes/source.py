"""Which texts a server is offered (the comments of the articles it shows, its own approved
posts) and reading them: text, author, where it comes from, topics."""

from __future__ import annotations

from dataclasses import dataclass

from bot import scans
from bot.guild_settings import GuildConfig, GuildSettings
from bot.quotes.model import (ANONYMOUS_MEMBER, ANONYMOUS_READER, ORIGIN_ARTICLE, ORIGIN_COMMENTS,
                              ORIGIN_COMMUNITY, fetch_rows)
from bot.quotes.texts import TextFacts
from bot.storage import Database


# -- which articles' comments ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scope:
    """The comments a server is offered, as conditions its queries carry: those of the shared
    articles and of its own uploads, less the articles its admins turned off. Built from the
    server's settings alone, so that a search needs no trip to the database to know it; the
    library itself is read by the query that uses it, so an article loaded by another process
    counts at once."""

    guild_id: int | None                # None: every article's comments, never named
    hidden: tuple[int, ...] = ()        # the articles the server's admins turned off

    def _shown(self) -> tuple[str, list]:
        """A condition on `sa` (articles): the server shows that article."""
        hidden = f" AND sa.id NOT IN ({','.join('?' * len(self.hidden))})" if self.hidden else ""
        return f"(sa.guild_id IS NULL OR sa.guild_id = ?){hidden}", [self.guild_id, *self.hidden]

    def _comments(self, column: str) -> tuple[str, list]:
        shown, params = self._shown()
        return (f"{column} IN (SELECT sc.id FROM comments sc JOIN articles sa ON sa.id = sc.article_id"
                f" WHERE {shown})", params)

    def comments_sql(self, column: str) -> tuple[str, list]:
        """" AND <column> IN (the comments of the articles shown)", or nothing for every article."""
        if self.guild_id is None:
            return "", []
        in_scope, params = self._comments(column)
        return f" AND {in_scope}", params

    def tags_sql(self) -> tuple[str, list]:
        """The same for topic_tags rows, whose posts are never filtered."""
        if self.guild_id is None:
            return "", []
        in_scope, params = self._comments("item_id")
        return f" AND (source = 'post' OR {in_scope})", params

    def named_sql(self) -> tuple[str, list]:
        """An SQL truth value: the server shows several articles, so a comment names its article."""
        if self.guild_id is None:
            return "1 = 0", []
        shown, params = self._shown()
        return f"((SELECT COUNT(*) FROM articles sa WHERE {shown}) > 1)", params


EVERY_ARTICLE = Scope(None)


async def scope_of(db: Database, guild_id: int, config: GuildConfig | None = None) -> Scope:
    """What the server offers, from its settings (`config` when the caller has read them)."""
    config = config or await GuildSettings(db).get(guild_id)
    return Scope(guild_id, tuple(config.hidden_articles))


# -- building quotes ------------------------------------------------------------------------

@dataclass
class Item:
    text: str
    author: str
    origin: str
    topics: tuple[str, ...] = ()
    stored_sensitive: bool = False
    facts: TextFacts | None = None    # a post's, from the safety scan stored with it (None: not stored)


async def read_items(db: Database, guild_id: int, idents: list[tuple[str, int]], *,
                 with_topics: bool = True, scope: Scope = EVERY_ARTICLE) -> dict[tuple[str, int], Item]:
    """Text, author and topics (strongest first) of comments (of the articles in `scope`) and of
    this server's approved posts (others are left out), in one query; a post's safety facts come
    from its stored scan when the detector in use made it."""
    selects, params = [], []
    comment_ids = [i for s, i in idents if s == "comment"]
    post_ids = [i for s, i in idents if s == "post"]
    if comment_ids:
        marks = ",".join("?" * len(comment_ids))
        in_scope, scope_params = scope.comments_sql("c.id")
        named, named_params = scope.named_sql()
        # The article's title (when the server shows several) rides in its own column (NULL in the
        # other rows).
        selects.append(f"SELECT 'text', 'comment', c.id, c.author, 0, c.text, CASE WHEN {named} THEN a.title END, CAST(NULL AS REAL),"
                       " CAST(NULL AS INTEGER), CAST(NULL AS TEXT)"
                       f" FROM comments c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks}){in_scope}")
        params += [*named_params, *comment_ids, *scope_params]
    if post_ids:
        marks = ",".join("?" * len(post_ids))
        # The stored scan's verdict is NULL unless the detector in use made it.
        selects.append("SELECT 'text', 'post', id, author_name, anonymous, text, NULL, CAST(NULL AS REAL),"
                       " CASE WHEN scan_model = ? THEN scan_sensitive END, CASE WHEN scan_model = ? THEN scan_note END"
                       f" FROM posts WHERE id IN ({marks}) AND guild_id = ? AND state = 'approved'")
        params += [scans.detector(), scans.detector(), *post_ids, guild_id]
    if with_topics:
        for source, ids in (("comment", comment_ids), ("post", post_ids)):
            if ids:
                selects.append("SELECT 'tag', source, item_id, topic, sensitive, NULL, NULL, score, NULL, NULL FROM topic_tags"
                               f" WHERE source = ? AND item_id IN ({','.join('?' * len(ids))})")
                params += [source, *ids]
    if not selects:
        return {}
    out: dict[tuple[str, int], Item] = {}
    tags: dict[tuple[str, int], list[tuple[float, str]]] = {}
    sensitive: set[tuple[str, int]] = set()
    rows = await fetch_rows(db, " UNION ALL ".join(selects), params)
    for kind, source, item_id, name, flag, text, title, score, scanned, note in rows:
        ident = (source, item_id)
        if kind == "tag":
            tags.setdefault(ident, []).append((-score, name))
            if flag:
                sensitive.add(ident)
        elif source == "comment":
            origin = ORIGIN_ARTICLE.format(title=title) if title is not None else ORIGIN_COMMENTS
            out[ident] = Item(text, name or ANONYMOUS_READER, origin)
        else:
            shown_name = None if flag else (name or "").strip()
            facts = None if scanned is None else TextFacts(bool(scanned), note)
            out[ident] = Item(text, shown_name or ANONYMOUS_MEMBER, ORIGIN_COMMUNITY, facts=facts)
    for ident, item in out.items():
        item.topics = tuple(topic for _score, topic in sorted(tags.get(ident, ())))
        item.stored_sensitive = ident in sensitive
    return out
