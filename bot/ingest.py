"""Loading articles into the database: idempotent, one transaction per article.

Parsing and the derived data (sentences and the study card, topic tags) are computed off the event
loop first; then everything is written in one transaction, so a half-loaded article never exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot import study
from bot import topics
from bot.article import ParsedArticle, parse_article
from bot.storage import Database, utcnow


@dataclass
class IngestReport:
    source: str
    loaded: bool                 # False when the same article was already in the database
    article_id: int
    title: str
    byline: str | None
    paragraphs: int
    comments: int
    named_comments: int
    replies: int
    removed: list[str] = field(default_factory=list)
    articles: int = 0            # articles in the database after loading

    def as_dict(self) -> dict:
        return asdict(self)


async def load_article(db: Database, text: str, source_name: str) -> IngestReport:
    parsed: ParsedArticle = await asyncio.to_thread(parse_article, text)
    digest = parsed.content_hash
    existing = await db.fetchval("SELECT id FROM articles WHERE content_hash = ?", (digest,))
    if existing is not None:
        return await _report(db, parsed, source_name, existing, loaded=False)
    comment_tags = await asyncio.to_thread(topics.tag_comments, [c.text for c in parsed.comments])
    prepared_study = await asyncio.to_thread(study.prepare_study, parsed)  # sentences and the study card

    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO articles(title, byline, source_name, content_hash, loaded_at) VALUES (?, ?, ?, ?, ?)",
            (parsed.title, parsed.byline, source_name, digest, utcnow()),
        )
        article_id = cur.lastrowid
        await tx.executemany(
            "INSERT INTO paragraphs(article_id, position, text) VALUES (?, ?, ?)",
            [(article_id, n, p) for n, p in enumerate(parsed.paragraphs, start=1)],
        )
        await tx.executemany(
            "INSERT INTO comments(article_id, position, author, reply_to, text) VALUES (?, ?, ?, ?, ?)",
            [(article_id, c.position, c.author, c.reply_to, c.text) for c in parsed.comments],
        )
        await topics.store_comment_tags(tx, article_id, comment_tags)
        await study.store_study(tx, article_id, prepared_study)
    return await _report(db, parsed, source_name, article_id, loaded=True)


async def _report(db: Database, parsed: ParsedArticle, source: str, article_id: int, *, loaded: bool) -> IngestReport:
    return IngestReport(
        source=source,
        loaded=loaded,
        article_id=article_id,
        title=parsed.title,
        byline=parsed.byline,
        paragraphs=len(parsed.paragraphs),
        comments=len(parsed.comments),
        named_comments=sum(1 for c in parsed.comments if c.author),
        replies=sum(1 for c in parsed.comments if c.reply_to),
        removed=list(parsed.removed),
        articles=await db.fetchval("SELECT COUNT(*) FROM articles"),
    )


async def load_file(db: Database, path: Path) -> IngestReport:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return await load_article(db, text, path.name)


async def load_seed_if_empty(db: Database, path: Path) -> IngestReport | None:
    """First start: an empty database gets the shipped article."""
    if await db.fetchval("SELECT COUNT(*) FROM articles"):
        return None
    return await load_file(db, path)
