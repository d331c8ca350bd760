"""Loading articles into the library: idempotent, one transaction per article.

Parsing and the derived data (sentences and the study card, topic tags) are computed off the event
loop first; then everything is written in one transaction, so a half-loaded article never exists.

Articles loaded from files (`fibrocircle ingest`, `data/articles/` at start-up) are shared by every
server; one uploaded by a server's admin belongs to that server (`guild_id`). A verified reference
lying beside a file (`NAME.reference.json`) is stored with the article.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from bot import study
from bot import topics
from bot.article import ArticleFormatError, ParsedArticle, parse_article
from bot.storage import Database, utcnow

log = logging.getLogger("fibrocircle.ingest")

# The kinds of file an article can be read from: plain text and Markdown.
ARTICLE_SUFFIXES = (".txt", ".md", ".markdown")


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
    why: dict[str, str] = field(default_factory=dict)  # each removed text -> why
    reference: bool = False      # a verified reference was stored with it

    def as_dict(self) -> dict:
        return asdict(self)


def is_markdown(name: str) -> bool:
    return Path(name).suffix.lower() in (".md", ".markdown")


def stored_hash(parsed: ParsedArticle, guild_id: int | None) -> str:
    """The key that makes loading twice change nothing: the content, and for an upload its server
    (two servers may upload the same article, each for itself)."""
    return parsed.content_hash if guild_id is None else f"guild:{guild_id}:{parsed.content_hash}"


async def load_article(db: Database, text: str, source_name: str, *, guild_id: int | None = None,
                       reference: dict | None = None,
                       also: Callable[[Any, int], Awaitable[Any]] | None = None) -> IngestReport:
    """Parse and store one article. `also(tx, article_id)` runs inside the same transaction (an
    upload's audit row, say); it is not run when the article was already there."""
    parsed: ParsedArticle = await asyncio.to_thread(parse_article, text, markdown=is_markdown(source_name))
    digest = stored_hash(parsed, guild_id)
    existing = await db.fetchval("SELECT id FROM articles WHERE content_hash = ?", (digest,))
    if existing is not None:
        return await _report(db, parsed, source_name, existing, loaded=False)
    comment_tags = await asyncio.to_thread(topics.tag_comments, [c.text for c in parsed.comments])
    prepared_study = await asyncio.to_thread(study.prepare_study, parsed)  # sentences and the study card

    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO articles(title, byline, source_name, content_hash, loaded_at, guild_id, reference_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (parsed.title, parsed.byline, source_name, digest, utcnow(), guild_id,
             json.dumps(reference, ensure_ascii=False) if reference else None),
        )
        article_id = (await cur.fetchone())[0]
        await cur.close()
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
        if also is not None:
            await also(tx, article_id)
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
        why=dict(parsed.why),
        reference=bool(await db.fetchval("SELECT reference_json IS NOT NULL FROM articles WHERE id = ?", (article_id,))),
    )


def read_reference(path: Path) -> dict | None:
    """The verified reference beside an article file (`article.txt` -> `article.reference.json`),
    or None when there is none or it is not a reference (it must name at least the journal)."""
    ref_path = path.with_name(f"{path.stem}.reference.json")
    if not ref_path.is_file():
        return None
    try:
        data = json.loads(ref_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("the reference file %s could not be read", ref_path)
        return None
    if not isinstance(data, dict) or not data.get("journal"):
        log.warning("the reference file %s names no journal; it is left out", ref_path)
        return None
    return data


async def load_file(db: Database, path: Path) -> IngestReport:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    reference = await asyncio.to_thread(read_reference, path)
    return await load_article(db, text, path.name, reference=reference)


async def load_folder(db: Database, folder: Path) -> list[IngestReport]:
    """Every article file in `folder` (start-up: `data/articles/`). A file that cannot be read as an
    article is logged and skipped; the others still load."""
    if not folder.is_dir():
        return []
    reports = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in ARTICLE_SUFFIXES or not path.is_file():
            continue
        try:
            reports.append(await load_file(db, path))
        except (ArticleFormatError, UnicodeDecodeError) as exc:
            log.warning("%s is not an article in the expected form (%s); it was not loaded", path.name, exc)
    return reports


async def load_seed_if_empty(db: Database, path: Path) -> IngestReport | None:
    """First start: an empty database gets the shipped article."""
    if await db.fetchval("SELECT COUNT(*) FROM articles"):
        return None
    return await load_file(db, path)
