"""The library of articles, which of them a server shows, and articles an admin uploads.

Shared articles (loaded by the host) may be shown by every server; an uploaded one only by the
server that uploaded it. A server shows every article it may show except those its admins turned
off (the setting `hidden_articles`), and features one (`featured_article`): the default for
/study. A server that never chose features its first article, so a server with only the seed
article sees exactly what it saw before there was a library.

Members name an article by its title: the whole title, a part of it that only one article's title
holds, or its number ("#3", which autocomplete sends).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from bot import audit, study
from bot.article import ArticleFormatError, ParsedArticle, parse_article
from bot.audit import AuditEntry
from bot.errors import UserFacingError
from bot.guild_settings import NOTHING_CHANGED, GuildConfig, GuildSettings
from bot.ingest import ARTICLE_SUFFIXES, IngestReport, is_markdown, load_article, stored_hash
from bot.storage import Database, discord_id, utcnow
from bot.study.model import EMBED_DESCRIPTION, RenderedCard
from bot.text import content_words, fold, light_stem, trim_to

# An article page saved as text is some tens of kilobytes; a file much larger is the wrong file.
MAX_UPLOAD_BYTES = 512 * 1024
# How long an upload waits for its admin to confirm the preview.
UPLOAD_KEPT = timedelta(days=1)
ARTICLE_ADDED = "article.added"


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    id: int
    title: str
    byline: str | None
    source_name: str
    guild_id: int | None        # None: shared by every server; otherwise the server that uploaded it
    paragraphs: int
    comments: int
    loaded_at: str
    has_reference: bool

    @property
    def label(self) -> str:
        """How lists name it: "#3 Title"."""
        return f"#{self.id} {self.title}"


_LIBRARY_SQL = (
    "SELECT a.id, a.title, a.byline, a.source_name, a.guild_id, a.loaded_at, a.reference_json IS NOT NULL AS has_ref,"
    " (SELECT COUNT(*) FROM paragraphs p WHERE p.article_id = a.id) AS paragraphs,"
    " (SELECT COUNT(*) FROM comments c WHERE c.article_id = a.id) AS comments FROM articles a"
)


def _info(row: Any) -> ArticleInfo:
    return ArticleInfo(id=row["id"], title=row["title"], byline=row["byline"], source_name=row["source_name"],
                       guild_id=row["guild_id"], paragraphs=row["paragraphs"], comments=row["comments"],
                       loaded_at=row["loaded_at"], has_reference=bool(row["has_ref"]))


async def library(db: Database, guild_id: int | None = None, *, every_server: bool = False) -> list[ArticleInfo]:
    """The articles a server may show (the shared ones and its own uploads), oldest first; with
    `every_server`, every article in the database (for the host's `fibrocircle articles`)."""
    if every_server:
        rows = await db.fetchall(f"{_LIBRARY_SQL} ORDER BY a.id")
    else:
        rows = await db.fetchall(f"{_LIBRARY_SQL} WHERE a.guild_id IS NULL OR a.guild_id = ? ORDER BY a.id",
                                 (guild_id,))
    return [_info(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ServerArticles:
    """What one server shows: its articles in library order and the featured one."""

    articles: list[ArticleInfo]
    featured: ArticleInfo | None
    hidden: list[ArticleInfo]           # the ones its admins turned off
    everything: bool = True             # it shows every article in the database

    @property
    def ids(self) -> list[int]:
        return [a.id for a in self.articles]

    @property
    def several(self) -> bool:
        """More than one article: replies then name the article they come from."""
        return len(self.articles) > 1

    @property
    def comment_scope(self) -> tuple[int, ...] | None:
        """The articles whose reader comments /quote and /topics offer here; None for all of them
        (a server that shows every article needs no filter, and reads exactly as before)."""
        return None if self.everything else tuple(self.ids)

    def require_featured(self) -> ArticleInfo:
        if self.featured is None:
            raise UserFacingError(
                "This server shows no articles right now. An admin can turn one on with `/config articles`.")
        return self.featured

    def find(self, text: str) -> ArticleInfo:
        """The article a member named; UserFacingError saying which ones there are otherwise."""
        found = match_title(self.articles, text)
        if found is not None:
            return found
        if not self.articles:
            self.require_featured()
        titles = "; ".join(f"“{a.title}”" for a in self.articles[:10])
        shown = " ".join(str(text).split())[:100]
        if len(self.matching(text)) > 1:
            raise UserFacingError(f"More than one article has “{shown}” in its title: pick one from the list. "
                                  f"This server's articles: {titles}.")
        raise UserFacingError(f"This server has no article called “{shown}”. Its articles: {titles}.")

    def matching(self, text: str) -> list[ArticleInfo]:
        typed = fold(" ".join(str(text).split()))
        return [a for a in self.articles if typed in fold(a.title)]


def _article_number(text: str) -> int | None:
    m = re.fullmatch(r"\s*#?\s*(\d{1,18})\s*", str(text))
    return int(m.group(1)) if m else None


def match_title(articles: Sequence[ArticleInfo], text: str) -> ArticleInfo | None:
    """The article with this number ("#3" or "3"), this title, or the only one whose title holds it."""
    number = _article_number(text)
    if number is not None:
        return next((a for a in articles if a.id == number), None)
    typed = fold(" ".join(str(text).split()))
    if not typed:
        return None
    exact = [a for a in articles if fold(a.title) == typed]
    if len(exact) == 1:
        return exact[0]
    holding = [a for a in articles if typed in fold(a.title)]
    return holding[0] if len(holding) == 1 else None


def server_articles(every: Sequence[ArticleInfo], config: GuildConfig, in_database: int | None = None) -> ServerArticles:
    """What a server shows of `every` (its library); `in_database`: how many articles there are in
    all (for `comment_scope`)."""
    hidden_ids = set(config.hidden_articles)
    shown = [a for a in every if a.id not in hidden_ids]
    featured = next((a for a in shown if a.id == config.featured_article), shown[0] if shown else None)
    return ServerArticles(shown, featured, [a for a in every if a.id in hidden_ids],
                          everything=in_database is None or len(shown) == in_database)


async def for_server(db: Database, config: GuildConfig) -> ServerArticles:
    every = await library(db, config.guild_id)
    return server_articles(every, config, await db.fetchval("SELECT COUNT(*) FROM articles"))


async def shown_in(db: Database, guild_id: int | None) -> ServerArticles:
    """What a server shows, read with its settings (outside a server: the shared articles)."""
    if guild_id is None:
        return await for_server(db, GuildConfig.build(0, {}))
    return await for_server(db, await GuildSettings(db).get(guild_id))


def answered_from(article: ArticleInfo, server: ServerArticles) -> str:
    """The line that says which article answered a question asked of all of them."""
    return f"Of the {len(server.articles)} articles this server reads, “{article.title}” answers this."


NONE_ANSWERS = "None of the {n} articles this server reads answers that question."
NOT_ANSWERED = "The article does not answer that question."


def _fit(question: str, answer: Any) -> float:
    """How much of the question the answer's sentences hold: the share of its words found there."""
    asked = {light_stem(w) for w in content_words(fold(question))}
    if not asked:
        return 0.0
    said = {light_stem(w) for p in answer.passages for w in content_words(fold(p.text))}
    return len(asked & said) / len(asked)


async def ask_every_article(db: Database, server: ServerArticles, question: str) -> RenderedCard:
    """/study ask with no article: every article the server shows is asked; the reply is the answer
    of the one whose sentences hold most of the question (the featured one on a tie), and names it."""
    featured = server.require_featured()
    answers = [(a, await study.ask(db, question, article_id=a.id)) for a in server.articles]
    found = [(a, answer) for a, answer in answers if answer.found]
    if not found:
        card = study.render_answer(next(answer for a, answer in answers if a.id == featured.id))
        none = NONE_ANSWERS.format(n=len(server.articles))
        text = card.description.replace(NOT_ANSWERED, none) if NOT_ANSWERED in card.description \
            else f"{none}\n\n{card.description}"
        return replace(card, title="From the articles this server reads", description=trim_to(text, EMBED_DESCRIPTION))
    article, answer = max(found, key=lambda pair: (_fit(question, pair[1]), pair[0].id == featured.id, -pair[0].id))
    card = study.render_answer(answer)
    return replace(card, description=trim_to(f"{answered_from(article, server)}\n\n{card.description}", EMBED_DESCRIPTION))


def choices(articles: Sequence[ArticleInfo], current: str, limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete: (title, "#id") for the articles whose title holds what was typed, best first."""
    typed = fold(" ".join(current.split()))
    number = _article_number(current)
    picked = [a for a in articles if (number is not None and a.id == number) or typed in fold(a.title)]
    picked.sort(key=lambda a: (not fold(a.title).startswith(typed), a.id))
    return [(_choice_name(a.title), f"#{a.id}") for a in picked[:limit]]


def _choice_name(title: str) -> str:
    return title if len(title) <= 100 else title[:99] + "…"


# -- settings changes, checked against the library --------------------------------------------

def turned(current: ServerArticles, config: GuildConfig, *, on: Iterable[ArticleInfo] = (),
           off: Iterable[ArticleInfo] = ()) -> list[int]:
    """The new `hidden_articles` value after turning articles on and off; a server keeps at least one."""
    on_ids = {a.id for a in on}
    hidden = sorted({i for i in config.hidden_articles if i not in on_ids} | {a.id for a in off})
    if not any(a.id not in hidden for a in [*current.articles, *current.hidden]):
        raise UserFacingError("A server shows at least one article: turn another one on first. " + NOTHING_CHANGED)
    return hidden


# -- uploads --------------------------------------------------------------------------------------

def check_upload_name(file_name: str, size: int) -> None:
    """Refuse a file that cannot be an article by its name or size alone."""
    suffix = Path(file_name).suffix.lower()
    if suffix in (".html", ".htm", ".mhtml", ".webarchive"):
        raise UserFacingError(
            "That is a saved web page. The bot reads articles as plain text or Markdown: open the page, select "
            "the article and its comments, paste them into a .txt file and upload that. " + NOTHING_CHANGED)
    if suffix not in ARTICLE_SUFFIXES:
        raise UserFacingError(f"“{file_name[:80]}” is not a .txt or .md file. Upload the article as plain text "
                              "(.txt) or Markdown (.md). " + NOTHING_CHANGED)
    if size > MAX_UPLOAD_BYTES:
        raise UserFacingError(f"That file is {size:,} bytes; an article file is at most {MAX_UPLOAD_BYTES:,}. "
                              + NOTHING_CHANGED)


def read_upload(raw: bytes, file_name: str) -> str:
    """An uploaded file's text, or UserFacingError saying why it cannot be an article."""
    check_upload_name(file_name, len(raw))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserFacingError("That file is not text (UTF-8). Save the article as plain text and upload it again. "
                              + NOTHING_CHANGED) from None
    if "\x00" in text or re.search(r"<(?:html|body|div|p)\b", text[:4000], re.I):
        raise UserFacingError("That file holds web-page code, not an article's text. Save the article as plain "
                              "text and upload it again. " + NOTHING_CHANGED)
    return text


def parse_upload(text: str, file_name: str) -> ParsedArticle:
    try:
        return parse_article(text, markdown=is_markdown(file_name))
    except ArticleFormatError as exc:
        raise UserFacingError(
            f"The bot could not read that file as an article: {exc}. An article file starts with its headline, "
            "then its paragraphs separated by blank lines, then (optionally) the byline and the reader comments. "
            + NOTHING_CHANGED) from None


async def already_there(db: Database, parsed: ParsedArticle, guild_id: int) -> ArticleInfo | None:
    """The same article in the library (shared) or already uploaded by this server."""
    row = await db.fetchone(
        f"{_LIBRARY_SQL} WHERE a.content_hash IN (?, ?)", (stored_hash(parsed, None), stored_hash(parsed, guild_id)))
    return _info(row) if row is not None else None


async def stage_upload(db: Database, guild_id: int, user_id: int, file_name: str, text: str) -> int:
    """Keep an upload while its admin reads the preview; uploads older than a day go."""
    cutoff = (datetime.now(timezone.utc) - UPLOAD_KEPT).isoformat(timespec="seconds")
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM article_uploads WHERE created_at < ?", (cutoff,))
        cur = await tx.execute(
            "INSERT INTO article_uploads (guild_id, user_id, file_name, text, created_at) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            (guild_id, user_id, file_name[:200], text, utcnow()))
        upload_id = int((await cur.fetchone())[0])
        await cur.close()
        return upload_id


async def staged_upload(db: Database, upload_id: int, guild_id: int) -> Any:
    row = await db.fetchone("SELECT id, file_name, text, user_id FROM article_uploads WHERE id = ? AND guild_id = ?",
                            (upload_id, guild_id))
    if row is None:
        raise UserFacingError("That upload is no longer waiting (it was added, cancelled, or is more than a day "
                              "old). Upload the file again with `/config article add`. " + NOTHING_CHANGED)
    return row


async def add_upload(db: Database, upload_id: int, guild_id: int, actor_id: int) -> tuple[IngestReport, AuditEntry | None]:
    """The admin confirmed the preview: the article joins this server's library, the upload goes
    and the audit row is written, all in one transaction. Returns the report and the audit entry
    (None when the same article was already there, and nothing changed)."""
    row = await staged_upload(db, upload_id, guild_id)
    written: list[AuditEntry] = []

    async def audit_and_forget(tx: Any, article_id: int) -> None:
        await tx.execute("DELETE FROM article_uploads WHERE id = ?", (upload_id,))
        written.append(await audit.record(
            tx, guild_id=guild_id, actor_id=actor_id, action=ARTICLE_ADDED, target=f"article:{article_id}",
            detail={"file": str(row["file_name"])[:200]}))

    try:
        report = await load_article(db, row["text"], row["file_name"], guild_id=guild_id, also=audit_and_forget)
    except ArticleFormatError as exc:  # the parser changed since the preview
        raise UserFacingError(f"The bot could not read that file as an article: {exc}. {NOTHING_CHANGED}") from None
    if not report.loaded:
        await cancel_upload(db, upload_id, guild_id)
    return report, (written[0] if written else None)


async def cancel_upload(db: Database, upload_id: int, guild_id: int) -> bool:
    async with db.transaction() as tx:
        cur = await tx.execute("DELETE FROM article_uploads WHERE id = ? AND guild_id = ?", (upload_id, guild_id))
        return cur.rowcount > 0


# -- a member's rows ------------------------------------------------------------------------------

async def export_member_rows(conn: Any, user_id: int) -> dict[str, Any]:
    rows = await conn.execute_fetchall(
        "SELECT guild_id, file_name, created_at FROM article_uploads WHERE user_id = ? ORDER BY id", (user_id,))
    return {"article_files_waiting_for_your_confirmation": [
        {"server_id": discord_id(r["guild_id"]), "file": r["file_name"], "uploaded_at": r["created_at"]} for r in rows]}


async def forget_member(tx: Any, user_id: int) -> None:
    """Uploads still waiting for a confirmation go (inside the caller's transaction); articles
    already added stay: they are the server's, not the member's."""
    await tx.execute("DELETE FROM article_uploads WHERE user_id = ?", (user_id,))


async def forget_guild(tx: Any, guild_id: int) -> None:
    """A server the bot has left: its own articles (with their paragraphs, sentences and comments)
    and uploads waiting for confirmation go, inside the caller's transaction."""
    await tx.execute("DELETE FROM article_uploads WHERE guild_id = ?", (guild_id,))
    await tx.execute("DELETE FROM articles WHERE guild_id = ?", (guild_id,))

