"""/study: the study behind the article in plain words, answers to members' questions, a glossary
and the study's source.

Everything shown is built by bot/study/; this cog reads the options, makes one call and turns the
result into one embed. Each command takes `article:` (autocompleted by title; a unique part of the
title works too) and otherwise reads the server's featured article (bot/library.py); `/study ask`
with no article asks every article the server shows and says which one answers. Who sees the reply: the summary, glossary and source are about the article,
so they are shown to the channel (handy when a group reads it together) unless the member asks for
`private`; a member's own question is private unless they choose to share it, because what someone
asks about their illness is their business.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot import library, safety, sanitize, study
from bot.errors import UserFacingError
from bot.library import ArticleInfo, ServerArticles
from bot.text import trim_to
from cogs.utils.context import Interaction, guild_config
from cogs.utils.formats import BRAND_COLOUR
from cogs.utils.replies import ask_limit, in_time, reply, send_ephemeral

if TYPE_CHECKING:
    from bot.app import FibroCircle

T = TypeVar("T")


# Discord's mention markup (@everyone, @here, <@id>, <@&id>, <#id>) names people and places, not
# what the member asks about: it is left out of the words the article is searched for.
MENTION = re.compile(r"@(?:everyone|here)\b|<(?:@[!&]?|#)\d+>")

ARTICLE_HELP = "Which article (start typing its title); the server's featured article if left out"

LENGTHS = [
    app_commands.Choice(name="short (a minute to read)", value="short"),
    app_commands.Choice(name="full", value="full"),
]


def embed_from_card(card: study.RenderedCard) -> discord.Embed:
    """A study reply (plain text parts, already within Discord's limits) as an embed."""
    embed = discord.Embed(title=card.title or None, description=card.description or None, colour=BRAND_COLOUR)
    for name, value in card.fields:
        embed.add_field(name=name, value=value, inline=False)
    if card.footer:
        embed.set_footer(text=card.footer)
    return embed


async def shown_here(interaction: Interaction) -> ServerArticles:
    """The articles this server shows, read with the interaction's settings (outside a server: the
    shared articles)."""
    if interaction.guild_id is None:
        return await library.shown_in(interaction.client.db, None)
    return await library.for_server(interaction.client.db, await guild_config(interaction))


class Study(commands.GroupCog, group_name="study",
            group_description="The study behind the article, in plain words"):
    def __init__(self, bot: FibroCircle):
        self.bot = bot
        super().__init__()

    @property
    def db(self):
        return self.bot.db

    async def chosen(self, interaction: Interaction, article: str | None) -> tuple[ArticleInfo, ServerArticles]:
        """The article a member named (or the server's featured one), and what the server shows."""
        server = await shown_here(interaction)
        return (server.find(article) if article else server.require_featured()), server


    async def cog_load(self) -> None:
        # Read the article's study data now rather than on the first member's command.
        try:
            await study.get_card(self.db)
        except UserFacingError:
            pass  # no article loaded yet: each command says so kindly

    @app_commands.command(name="summary", description="What the study asked, who took part, what it found and what it cannot tell us")
    @app_commands.describe(length="Short (the default) or the full card",
                           private="Only you see the reply (by default the channel sees it)",
                           article=ARTICLE_HELP)
    @app_commands.choices(length=LENGTHS)
    async def summary(self, interaction: Interaction, length: str = "short", private: bool = False,
                      article: app_commands.Range[str, 1, 200] | None = None) -> None:
        chosen, _ = await self.chosen(interaction, article)
        card = await in_time(interaction, study.study_summary(self.db, length, article_id=chosen.id), ephemeral=private)
        await reply(interaction, embed=embed_from_card(card), ephemeral=private)

    @app_commands.command(name="ask", description="Ask a question about the study; the answer quotes the article")
    @app_commands.describe(question="Your question, e.g. how many people took part?",
                           private="Only you see the reply (the default); choose False to share it with the channel",
                           article="Which article to ask (start typing its title); every article if left out")
    @ask_limit()
    async def ask(self, interaction: Interaction, question: app_commands.Range[str, 1, 300],
                  private: bool = True, article: app_commands.Range[str, 1, 200] | None = None) -> None:
        asked = MENTION.sub(" ", sanitize.remove_hidden_characters(question))
        if safety.query_tier(asked) == safety.CRISIS:
            # Help first, and privately whatever the answer's privacy; then the answer where one fits.
            config = await guild_config(interaction) if interaction.guild_id else None
            await send_ephemeral(interaction, safety.crisis_note(config.crisis_resources if config else None))
        server = await shown_here(interaction)
        if article or not server.several:
            chosen = server.find(article) if article else server.require_featured()
            answer = await in_time(interaction, study.ask(self.db, asked, article_id=chosen.id), ephemeral=private)
            card = study.render_answer(answer)
        else:
            card = await in_time(interaction, library.ask_every_article(self.db, server, asked), ephemeral=private)
        embed = embed_from_card(card)
        # The reply does not show the command's options to anyone, so it says what it answers.
        embed.set_author(name=trim_to(f"You asked: {' '.join(question.split())}", 256))
        await reply(interaction, embed=embed, ephemeral=private)

    @app_commands.command(name="glossary", description="A word from the article explained in plain language")
    @app_commands.describe(term="The word, e.g. hyperalgesia (start typing for the list)",
                           private="Only you see the reply (by default the channel sees it)",
                           article=ARTICLE_HELP)
    async def glossary(self, interaction: Interaction, term: app_commands.Range[str, 1, 100],
                       private: bool = False, article: app_commands.Range[str, 1, 200] | None = None) -> None:
        chosen, _ = await self.chosen(interaction, article)
        entry = await in_time(interaction, study.glossary_entry(self.db, term, article_id=chosen.id), ephemeral=private)
        await reply(interaction, embed=embed_from_card(study.render_glossary(entry)), ephemeral=private)

    @glossary.autocomplete("term")
    async def glossary_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            chosen, _ = await self.chosen(interaction, getattr(interaction.namespace, "article", None))
            terms = await study.glossary_choices(self.db, current, article_id=chosen.id)
        except UserFacingError:
            return []  # no article loaded, or none by that name: an empty list is the only answer autocomplete can give
        return [app_commands.Choice(name=t, value=t) for t in terms]

    @app_commands.command(name="source", description="Where the article and the study come from: headline, byline, journal, reference")
    @app_commands.describe(private="Only you see the reply (by default the channel sees it)", article=ARTICLE_HELP)
    async def source(self, interaction: Interaction, private: bool = False,
                     article: app_commands.Range[str, 1, 200] | None = None) -> None:
        chosen, _ = await self.chosen(interaction, article)
        info = await in_time(interaction, study.source(self.db, article_id=chosen.id), ephemeral=private)
        await reply(interaction, embed=embed_from_card(study.render_source(info)), ephemeral=private)

    @summary.autocomplete("article")
    @ask.autocomplete("article")
    @glossary.autocomplete("article")
    @source.autocomplete("article")
    async def article_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        server = await shown_here(interaction)
        return [app_commands.Choice(name=name, value=value) for name, value in library.choices(server.articles, current)]


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(Study(bot))
