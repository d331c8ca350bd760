"""/quote and /topics: what people living with fibromyalgia wrote, found by topic.

`bot/quotes.py` finds and ranks the quotes; this cog reads the options, makes one call and turns the
result into embeds and buttons.

- /quote replies privately by default (what someone looks for is their business). Each quote shows
  its author as it appeared, where it came from and its topics. Buttons: "Read in full" for a
  trimmed quote (private to whoever presses it), "Share here" on a private reply (posts that quote
  to the channel, where it then counts as the last quote given), and "Another" (the next best quote
  this member has not seen for the search).
- Every button carries its state in its custom_id (a DynamicItem), so it still works after a
  restart: the search (`quote:more:<count>:<search>`) or the quote (`quote:full:<source>:<id>`).
  A quote is read again from the database on every press, so a withdrawn post, or one from another
  server, is refused kindly.
- A quote about suicide or self-harm is always behind a spoiler, with a content note and the
  server's crisis resources; a cure claim carries the evidence note; every reply that quotes
  someone ends with the not-medical-advice note.
- Quoted text is shown literally (Discord markdown escaped): a member's `||` or `[link](url)` can
  neither close a spoiler nor hide a link.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot import posts, quotes, safety, sanitize, topics
from bot.quotes import Quote, QuoteResult
from bot.safety import DEFAULT_CRISIS_RESOURCES
from bot.text import trim_to
from cogs.utils.context import Interaction, guild_config
from cogs.utils.formats import BRAND_COLOUR, CUSTOM_ID_MAX, DESCRIPTION_MAX, EMBED_TOTAL, FIELD_MAX, footer_note
from cogs.utils.replies import SafeDynamicItem, ask_limit, in_time, reply, send_ephemeral

if TYPE_CHECKING:
    from bot.app import FibroCircle

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_SEARCH_LENGTH = 80          # the topic option; the search must fit in a button's custom_id
MORE_PREFIX = "quote:more:0:"   # what "Another" puts before the search (the count is one digit)
TOPICS_PER_PAGE = 5
SHOWN_TOPICS = 6                # a quote's strongest topics; the rest are counted

CONTENT_NOTE = ("**Content note:** this quote mentions suicide or self-harm. "
                "It is hidden: tap the dark box to read it.")
RESOURCES_TITLE = "If this is close to home, you don't have to face it alone"


# -- small helpers ------------------------------------------------------------------------------

def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_search(text: str, room: int) -> str:
    """The search, single-spaced and cut to `room` UTF-16 units (an emoji counts twice)."""
    text = " ".join(text.split())
    while utf16_length(text) > room:
        text = text[:-1]
    return text.strip()


def search_of(typed: str) -> str:
    """What is searched for: the same text the buttons carry, so "Another" continues this very search."""
    # Without hidden characters: a lone surrogate (which JSON can carry and UTF-8 cannot) or a
    # zero-width character would otherwise reach the database and the buttons' custom_ids.
    typed = sanitize.remove_hidden_characters(typed)
    return fit_search(typed[:MAX_SEARCH_LENGTH], CUSTOM_ID_MAX - len(MORE_PREFIX))


def escape(text: str) -> str:
    return discord.utils.escape_markdown(text)


def fitted(raw: str, limit: int, render: Callable[[str], str]) -> str:
    """`render(raw)`, with `raw` trimmed at a sentence or word boundary until the result fits `limit`."""
    out = render(raw)
    room = len(raw)
    while len(out) > limit and room > 0:
        room = max(0, room - max(len(out) - limit, 20))
        out = render(trim_to(raw, room))
    return out  # never cut after rendering: that could leave a spoiler open


def quoted_body(text: str, *, sensitive: bool) -> str:
    """The quote as an embed description: a block quote, or a spoiler under a content note."""
    safe = escape(text.strip())
    if sensitive:
        return f"{CONTENT_NOTE}\n||{safe}||"
    return "\n".join("> " + line if line.strip() else ">" for line in safe.split("\n"))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def topic_title(name: str) -> str:
    topic = topics.taxonomy().topics.get(name)
    return topic.title if topic else name


async def crisis_resources(interaction: Interaction) -> str:
    config = await guild_config(interaction)
    return (config.crisis_resources or "").strip() or DEFAULT_CRISIS_RESOURCES


async def send(interaction: Interaction, *, content: str | None, embeds: list[discord.Embed],
               view: discord.ui.View | None, ephemeral: bool, update: bool = False) -> discord.Message | None:
    """Answer with a new message, or (`update`) replace the message the button was on. Returns the
    message when it is a new one the channel sees (to be tracked if it repeats a member's post)."""
    view = view if view is not None and view.children else None
    if view is not None:
        # Every button here is a DynamicItem, answered from its custom_id by the handlers the cog
        # registers: the view need not be kept. (discord.py would keep each private reply's view,
        # with a timer task, for 15 minutes: tens of thousands of objects for the garbage
        # collector to walk at a busy hour.)
        view.stop()
    if update:
        if interaction.response.is_done():
            await interaction.edit_original_response(content=content, embeds=embeds, view=view)
        else:
            await interaction.response.edit_message(content=content, embeds=embeds, view=view)
        return
    extra: dict[str, Any] = {"view": view} if view is not None else {}
    return await reply(interaction, content, embeds=embeds, ephemeral=ephemeral, returning=True, **extra)


async def track_copy(interaction: Interaction, message: discord.Message | None, found: list[Quote]) -> None:
    """A public message that repeats members' posts is recorded, so that withdrawing a post or Forget
    me deletes it too. Never raises: the quote is already shown; a failure is logged."""
    post_ids = [q.item_id for q in found if q.source == "post"]
    if message is None or not post_ids or interaction.guild_id is None:
        return
    try:
        await posts.record_copies(interaction.client.db, guild_id=interaction.guild_id, channel_id=message.channel.id,
                                  message_id=message.id, post_ids=post_ids)
    except Exception:  # noqa: BLE001 - logged; the worker cannot remove a copy it does not know of
        log.warning("could not record a public copy of a member's post", exc_info=True)


# -- quotes as embeds ---------------------------------------------------------------------------

def quote_embed(quote: Quote, *, body: str | None = None, number: int | None = None, part: str = "",
                resources: str | None = None, description_limit: int = DESCRIPTION_MAX,
                searched: tuple[str, ...] = ()) -> discord.Embed:
    """One quote: who wrote it and where, the text (`body`: the excerpt unless given), its topics
    (those `searched` first), and the notes its content calls for; `resources` (the crisis
    resources) are added to a quote about self-harm. The description is fitted to `description_limit`."""
    embed = discord.Embed(colour=BRAND_COLOUR)
    who = quote.author_label
    if who in (quotes.ANONYMOUS_READER, quotes.ANONYMOUS_MEMBER):  # the bot's own words, not a name
        who = who[:1].upper() + who[1:]
    head = f"#{number} · " if number else ""
    embed.set_author(name=trim_to(f"{head}{who}, in {quote.origin_label}{part}", 256))
    text = quote.excerpt if body is None else body
    embed.description = fitted(text, description_limit, lambda t: quoted_body(t, sensitive=quote.sensitive))
    if quote.topics:
        # The topics searched for first, so that they are never among the ones only counted.
        ordered = sorted(quote.topics, key=lambda t: t not in searched)
        shown = ", ".join(ordered[:SHOWN_TOPICS])
        more = len(ordered) - SHOWN_TOPICS
        embed.add_field(name="Topics", value=shown + (f" and {more} more" if more > 0 else ""), inline=False)
    if quote.cure_note:
        embed.add_field(name="About this claim", value=trim_to(quote.cure_note, FIELD_MAX), inline=False)
    if quote.sensitive and resources:
        embed.add_field(name=RESOURCES_TITLE, value=trim_to(resources, FIELD_MAX), inline=False)
    return embed


def quote_embeds(found: list[Quote], *, resources: str | None, footer: str,
                 searched: tuple[str, ...] = ()) -> tuple[list[discord.Embed], list[bool]]:
    """Several quotes in one message, and for each whether its excerpt had to be shortened.

    The crisis resources come once, under the last quote about self-harm. The room the fixed
    parts (authors, topics, notes) leave is shared among the quotes, so that all embeds together
    stay within Discord's 6000 characters."""
    numbered = len(found) > 1
    last_sensitive = max((i for i, q in enumerate(found) if q.sensitive), default=-1)

    def build(i: int, quote: Quote, limit: int) -> discord.Embed:
        return quote_embed(quote, number=i + 1 if numbered else None, description_limit=limit, searched=searched,
                           resources=(resources or DEFAULT_CRISIS_RESOURCES) if i == last_sensitive else None)

    frames = [build(i, q, 0) for i, q in enumerate(found)]
    fixed = sum(len(e) - len(e.description or "") for e in frames) + len(footer)
    room = min(DESCRIPTION_MAX, (EMBED_TOTAL - fixed - 50) // max(len(found), 1))
    embeds = [build(i, q, room) for i, q in enumerate(found)]
    embeds[-1].set_footer(text=footer)
    shortened = [e.description != quoted_body(q.excerpt, sensitive=q.sensitive) for e, q in zip(embeds, found)]
    return embeds, shortened


def full_text_parts(text: str, fits: Callable[[str], bool]) -> list[str]:
    """A long text cut into parts that each `fits` (once escaped and quoted), at a paragraph,
    sentence or word boundary. Nothing is left out: the parts together are the whole text."""
    text = text.strip()
    parts = []
    while text and not fits(text):
        room = len(text)
        head = text
        while head and not fits(head):
            room = room * 4 // 5
            head = trim_to(text, room, ellipsis="")
        head = head or text[:1]
        paragraph = head.rfind("\n")
        if paragraph > len(head) // 2:  # end the part at a paragraph break when there is one
            head = head[:paragraph]
        parts.append(head.strip())
        text = text[len(head):].strip()
    if text:
        parts.append(text)
    return parts


# -- replies ------------------------------------------------------------------------------------

@lru_cache(maxsize=1024)
def said(search: str) -> str:
    """The search as a reply repeats it. Words of crisis are not repeated: the reply may be public.
    Remembered per search: building one reply asks several times."""
    # A search the member typed may hold mention markup ("<@123>"): it reads as "@user", never raw.
    return "this" if safety.is_crisis_search(search) else f"“{escape(sanitize.neutralise_mentions(search))}”"


def support_line(resources: str) -> str:
    return f"If you're having thoughts like these yourself, you don't have to carry them alone: {resources}"


def heading(result: QuoteResult, search: str) -> str:
    titles = [topic_title(t) for t in result.matched_topics]
    if result.corrections and said(search) != "this":
        read = ", ".join(f"“{escape(right)}”" for _typed, right in result.corrections)
        typed = ", ".join(f"“{escape(typed)}”" for typed, _right in result.corrections)
        return f"Showing results for {read} (you typed {typed})."
    # "insomnia" was read as the topic Sleep: say so; "sleep" needs no explanation.
    if titles and quotes.query_key(search) not in {quotes.query_key(t) for t in (*titles, *result.matched_topics)}:
        return f"What people wrote about {said(search)} (topic: {', '.join(titles)})."
    return f"What people wrote about {said(search)}."


async def quote_reply(result: QuoteResult, *, search: str, count: int, ephemeral: bool,
                      resources: str | None, another: bool = False) -> tuple[str, list[discord.Embed], discord.ui.View]:
    """The message for a search that found quotes: heading, one embed per quote, buttons."""
    found = list(result.quotes)
    lines = [heading(result, search)]
    fewer = len(found) < count and result.exhausted and not another
    if fewer:
        lines.append(f"Only {plural(len(found), 'text')} of what people wrote {'speaks' if len(found) == 1 else 'speak'} "
                     f"to {said(search)}, so that is all I show.")
        if result.nearest_topics:
            names = ", ".join(f"**{escape(topic_title(t))}**" for t in result.nearest_topics)
            lines.append(f"Nearby topics: {names}. Press one below, or see `/topics` for all of them.")
    elif result.exhausted:
        lines.append(f"That's everything I have on {said(search)} for now. `/topics` lists the others.")
    if resources and said(search) == "this" and not any(q.sensitive for q in found):
        # Help first (a quote about self-harm carries it in its embed: once is enough).
        lines.insert(0, support_line(resources))
    embeds, shortened = quote_embeds(found, resources=resources, footer=footer_note(), searched=result.matched_topics)
    view = discord.ui.View(timeout=None)
    numbered = len(found) > 1
    for i, quote in enumerate(found, 1):
        tag = f" (#{i})" if numbered else ""
        if quote.trimmed or shortened[i - 1]:
            view.add_item(ReadInFullButton(quote.source, quote.item_id, label=f"Read in full{tag}"))
        if ephemeral:
            view.add_item(ShareButton(quote.source, quote.item_id, search, label=f"Share here{tag}"))
    if not result.exhausted:
        view.add_item(SearchButton("more", count, search, label="Another"))
    if fewer:
        for name in result.nearest_topics[:3]:
            button = SearchButton("new", count, name, label=topic_title(name))
            button.item.row = 3
            view.add_item(button)
    return "\n".join(lines), embeds, view


def nothing_found(result: QuoteResult, search: str, count: int, resources: str | None) -> tuple[str, discord.ui.View]:
    """No quote for the search: say so kindly and offer the nearest topics."""
    text = f"I couldn't find anything people wrote about {said(search)}"
    text += " that I haven't shown you already." if result.seen_all else "."
    view = discord.ui.View(timeout=None)
    if result.nearest_topics:
        names = ", ".join(f"**{escape(t)}**" for t in result.nearest_topics)
        text += f"\nTopics with quotes that may be close: {names}. Press one below, or see `/topics` for all of them."
        for name in result.nearest_topics[:5]:
            view.add_item(SearchButton("new", count, name, label=topic_title(name)))
    else:
        text += "\n`/topics` lists every topic people wrote about."
    if resources and said(search) == "this":  # help first
        text = support_line(resources) + "\n" + text
    elif resources:
        text += "\n" + support_line(resources)
    return text, view


async def run_search(interaction: Interaction, search: str, *, count: int, ephemeral: bool,
                     another: bool, update: bool = False) -> None:
    """Search, then answer: quotes with buttons, or a kind "nothing found"."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    bot = interaction.client
    replied = asyncio.Event()  # what was shown is recorded once the member has the reply
    try:
        result = await in_time(interaction, quotes.find_quotes(
            bot.db, guild_id=interaction.guild_id, query=search, user_id=interaction.user.id,
            config=await guild_config(interaction),
            # The channel's tie-break is about what the channel sees: a private reply is not shown to it.
            channel_id=None if ephemeral else interaction.channel_id, count=count, another=another,
            # The reply need not wait for the record of what it shows; "Another" and the next search
            # in this server do.
            record_in_background=True, record_after=replied),
            ephemeral=ephemeral, update=update)
        await answer_search(interaction, result, search, count=count, ephemeral=ephemeral, another=another,
                            update=update)
    finally:
        replied.set()


async def answer_search(interaction: Interaction, result: QuoteResult, search: str, *, count: int, ephemeral: bool,
                        another: bool, update: bool) -> None:
    """The reply to a search: quotes with buttons, or a kind "nothing found"."""
    assert interaction.guild_id is not None
    # A search in words of crisis, or a quote about self-harm, comes with the server's crisis resources.
    wants_resources = said(search) == "this" or any(q.sensitive for q in result.quotes)
    resources = await crisis_resources(interaction) if wants_resources else None
    if not result.quotes:
        if another:
            await send_ephemeral(interaction, f"You've seen every quote I have on {said(search)}. A new `/quote` "
                                              "starts over, and `/topics` lists the others.")
            return
        text, view = nothing_found(result, search, count, resources)
        await send(interaction, content=text, embeds=[], view=view, ephemeral=True, update=update)
        return
    content, embeds, view = await quote_reply(result, search=search, count=count, ephemeral=ephemeral,
                                              resources=resources, another=another)
    message = await send(interaction, content=content, embeds=embeds, view=view, ephemeral=ephemeral, update=update)
    await track_copy(interaction, message, result.quotes)


def clicked_on_private_message(interaction: Interaction) -> bool:
    message = interaction.message
    return message is not None and message.flags.ephemeral


# -- buttons ------------------------------------------------------------------------------------

class SearchButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                   template=r"quote:(?P<kind>more|new):(?P<count>[1-5]):(?P<search>.+)"):
    """"Another" (`more`: the next quotes of the same search) and a topic to search (`new`)."""

    def __init__(self, kind: str, count: int, search: str, *, label: str) -> None:
        style = discord.ButtonStyle.primary if kind == "more" else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=trim_to(label, 80), style=style, row=2 if kind == "more" else 0,
                                           custom_id=f"quote:{kind}:{count}:{search}"))
        self.kind, self.count, self.search = kind, count, search

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "SearchButton":
        return cls(match["kind"], int(match["count"]), match["search"], label="")

    async def handle(self, interaction: Interaction) -> None:
        if self.kind == "new":  # a topic offered by "nothing found" or /topics: a fresh private reply
            await run_search(interaction, self.search, count=self.count, ephemeral=True, another=False)
            return
        # "Another" on a private reply replaces it; on a message the channel sees, whoever pressed it
        # gets the next quote privately and can share it from there.
        private = clicked_on_private_message(interaction)
        await run_search(interaction, self.search, count=self.count, ephemeral=True, another=True, update=private)


class ReadInFullButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                       template=r"quote:full:(?P<source>comment|post):(?P<id>[0-9]{1,18})"):
    def __init__(self, source: str, item_id: int, *, label: str = "Read in full") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, row=0,
                                           custom_id=f"quote:full:{source}:{item_id}"))
        self.source, self.item_id = source, item_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "ReadInFullButton":
        return cls(match["source"], int(match["id"]))

    async def handle(self, interaction: Interaction) -> None:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        bot = interaction.client
        quote = await quotes.get_quote(bot.db, self.source, self.item_id, interaction.guild_id,
                                       await guild_config(interaction))
        resources = await crisis_resources(interaction) if quote.sensitive else None
        # A text longer than one embed holds comes in several messages, each complete in itself:
        # author, notes, crisis resources when needed, and the not-medical-advice note.
        frame = quote_embed(quote, body="", part=" (part 10 of 10)", resources=resources)
        frame.set_footer(text=footer_note())
        room = min(DESCRIPTION_MAX, EMBED_TOTAL - len(frame) - 50)
        parts = full_text_parts(quote.full_text, lambda t: len(quoted_body(t, sensitive=quote.sensitive)) <= room)
        for n, part in enumerate(parts, 1):
            label = f" (part {n} of {len(parts)})" if len(parts) > 1 else ""
            embed = quote_embed(quote, body=part, part=label, resources=resources, description_limit=room)
            embed.set_footer(text=footer_note())
            await send(interaction, content=None, embeds=[embed], view=None, ephemeral=True)


class ShareButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                  template=r"quote:share:(?P<source>comment|post):(?P<id>[0-9]{1,18}):(?P<search>.*)"):
    """Posts the quote to the channel, with the same excerpt, notes and spoiler as the private reply."""

    def __init__(self, source: str, item_id: int, search: str, *, label: str = "Share here") -> None:
        prefix = f"quote:share:{source}:{item_id}:"
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.success, row=1,
                                           custom_id=prefix + fit_search(search, CUSTOM_ID_MAX - len(prefix))))
        self.source, self.item_id, self.search = source, item_id, search

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "ShareButton":
        return cls(match["source"], int(match["id"]), match["search"])

    async def handle(self, interaction: Interaction) -> None:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        bot = interaction.client
        quote = await quotes.get_quote(bot.db, self.source, self.item_id, interaction.guild_id,
                                       await guild_config(interaction))
        quote, searched = excerpt_near(quote, self.search)
        resources = await crisis_resources(interaction) if quote.sensitive else None
        embeds, shortened = quote_embeds([quote], resources=resources, footer=footer_note(), searched=searched)
        view = discord.ui.View(timeout=None)
        if quote.trimmed or shortened[0]:
            view.add_item(ReadInFullButton(quote.source, quote.item_id))
        message = await send(interaction, content="Shared from `/quote`:", embeds=embeds, view=view, ephemeral=False)
        await track_copy(interaction, message, [quote])
        # The channel has now been given this quote: its next /quote offers another first.
        try:
            await quotes.record_shared(bot.db, guild_id=interaction.guild_id, channel_id=interaction.channel_id,
                                       user_id=interaction.user.id, source=quote.source, item_id=quote.item_id)
        except Exception:  # the quote is shared; at worst the channel's next /quote may give it again
            log.warning("could not record a shared quote", exc_info=True)


def excerpt_near(quote: Quote, search: str) -> tuple[Quote, tuple[str, ...]]:
    """The quote trimmed as the member saw it, around the passage that matches the search (or its
    strongest topic when the search did not fit in the button), and the topics searched for."""
    key = quotes.query_key(search) or quotes.query_key(" ".join(quote.topics[:1]))
    if not key:
        text = quote.full_text.strip()
        excerpt = trim_to(text, quotes.EXCERPT_LIMIT)
        return replace(quote, excerpt=excerpt, trimmed=excerpt != text), ()
    match = topics.match_query(key)
    excerpt, trimmed = quotes.excerpt_for(quote.full_text, match)
    return replace(quote, excerpt=excerpt, trimmed=trimmed), match.topics


# -- /topics --------------------------------------------------------------------------------------

async def topics_page(interaction: Interaction, page: int) -> tuple[discord.Embed, discord.ui.View]:
    assert interaction.guild_id is not None
    counts = await quotes.topic_counts(interaction.client.db, interaction.guild_id,
                                       config=await guild_config(interaction))
    pages = max(1, -(-len(counts) // TOPICS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = counts[page * TOPICS_PER_PAGE:(page + 1) * TOPICS_PER_PAGE]
    embed = discord.Embed(
        title=f"Topics people write about (page {page + 1} of {pages})", colour=BRAND_COLOUR,
        description="Press a topic for a quote, or type `/quote topic:` and a topic or any words.")
    view = discord.ui.View(timeout=None)
    for t in shown:
        value = escape(t.description)
        if t.sample_phrase:
            value += f"\n> “{escape(t.sample_phrase)}”"
            if t.sample_note:
                value += f"\n*{escape(t.sample_note)}*"
        embed.add_field(name=trim_to(f"{t.title} · {plural(t.count, 'quote')}", 256),
                        value=trim_to(value, FIELD_MAX), inline=False)
        button = SearchButton("new", 1, t.name, label=t.title)
        button.item.disabled = t.count == 0
        view.add_item(button)
    view.add_item(TopicsPageButton("prev", page - 1, disabled=page == 0))
    view.add_item(TopicsPageButton("next", page + 1, disabled=page >= pages - 1))
    embed.set_footer(text=footer_note())
    return embed, view


class TopicsPageButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                       template=r"quote:topics:(?P<direction>prev|next):(?P<page>-?[0-9]{1,3})"):
    def __init__(self, direction: str, page: int, *, disabled: bool = False) -> None:
        label = "◀ Previous" if direction == "prev" else "Next ▶"
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, row=1, disabled=disabled,
                                           custom_id=f"quote:topics:{direction}:{page}"))
        self.page = page

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "TopicsPageButton":
        return cls(match["direction"], int(match["page"]))

    async def handle(self, interaction: Interaction) -> None:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        embed, view = await in_time(interaction, topics_page(interaction, self.page),
                                    ephemeral=True, update=True)
        await send(interaction, content=None, embeds=[embed], view=view, ephemeral=True, update=True)


# -- the commands ---------------------------------------------------------------------------------

class Quotes(commands.Cog):
    def __init__(self, bot: FibroCircle) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(SearchButton, ReadInFullButton, ShareButton, TopicsPageButton)
        # Every search reads the article's comments: work out their safety flags and sentences now.
        await quotes.warm_up(self.bot.db)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(SearchButton, ReadInFullButton, ShareButton, TopicsPageButton)
        # Records of shown quotes still being written are committed before the database closes.
        await quotes.records_written(self.bot.db)

    @app_commands.command(name="quote", description="What people living with fibromyalgia wrote about a topic")
    @app_commands.describe(
        topic="A topic or a few words, e.g. sleep, opioids, cold weather (start typing for the list)",
        count="How many quotes at once (1 to 5; 1 if left out)",
        ephemeral="Only you see the reply (the default); choose False to show it to the channel")
    @app_commands.guild_only()
    @ask_limit()
    async def quote(self, interaction: Interaction, topic: app_commands.Range[str, 1, MAX_SEARCH_LENGTH],
                    count: app_commands.Range[int, 1, quotes.MAX_COUNT] = 1, ephemeral: bool = True) -> None:
        await run_search(interaction, search_of(topic), count=count, ephemeral=ephemeral, another=False)

    @quote.autocomplete("topic")
    async def topic_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        counts = await quotes.topic_counts(self.bot.db, interaction.guild_id, samples=False,
                                           config=await guild_config(interaction))
        return [app_commands.Choice(name=name, value=value[:MAX_SEARCH_LENGTH])
                for name, value in quotes.autocomplete_topics(counts, current)]

    @app_commands.command(name="topics", description="The topics people wrote about, with how many quotes each has")
    @app_commands.guild_only()
    async def topics_command(self, interaction: Interaction) -> None:
        embed, view = await in_time(interaction, topics_page(interaction, 0), ephemeral=True)
        await send(interaction, content=None, embeds=[embed], view=view, ephemeral=True)


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(Quotes(bot))
