"""/study: the study behind the article in plain words, answers to members' questions, a glossary
and the study's source.

Everything shown is built by bot/study.py; this cog reads the options, makes one call and turns the
result into one embed. Who sees the reply: the summary, glossary and source are about the article,
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

from bot import study
from bot.errors import UserFacingError
from bot.text import trim_to
from cogs.utils.context import Interaction
from cogs.utils.formats import BRAND_COLOUR
from cogs.utils.replies import in_time

if TYPE_CHECKING:
    from bot.app import FibroCircle

T = TypeVar("T")


# Discord's mention markup (@everyone, @here, <@id>, <@&id>, <#id>) names people and places, not
# what the member asks about: it is left out of the words the article is searched for.
MENTION = re.compile(r"@(?:everyone|here)\b|<(?:@[!&]?|#)\d+>")

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


async def reply(interaction: Interaction, embed: discord.Embed, *, private: bool) -> None:
    if interaction.response.is_done():  # deferred above: the follow-up fills the "thinking" message
        await interaction.followup.send(embed=embed, ephemeral=private)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=private)


class Study(commands.GroupCog, group_name="study",
            group_description="The study behind the article, in plain words"):
    def __init__(self, bot: FibroCircle):
        self.bot = bot
        super().__init__()

    @property
    def db(self):
        return self.bot.db

    async def cog_load(self) -> None:
        # Read the article's study data now rather than on the first member's command.
        try:
            await study.get_card(self.db)
        except UserFacingError:
            pass  # no article loaded yet: each command says so kindly

    @app_commands.command(name="summary", description="What the study asked, who took part, what it found and what it cannot tell us")
    @app_commands.describe(length="Short (the default) or the full card",
                           private="Only you see the reply (by default the channel sees it)")
    @app_commands.choices(length=LENGTHS)
    async def summary(self, interaction: Interaction, length: str = "short", private: bool = False) -> None:
        card = await in_time(interaction, study.study_summary(self.db, length), ephemeral=private)
        await reply(interaction, embed_from_card(card), private=private)

    @app_commands.command(name="ask", description="Ask a question about the study; the answer quotes the article")
    @app_commands.describe(question="Your question, e.g. how many people took part?",
                           private="Only you see the reply (the default); choose False to share it with the channel")
    async def ask(self, interaction: Interaction, question: app_commands.Range[str, 1, 300],
                  private: bool = True) -> None:
        answer = await in_time(interaction, study.ask(self.db, MENTION.sub(" ", question)), ephemeral=private)
        embed = embed_from_card(study.render_answer(answer))
        # The reply does not show the command's options to anyone, so it says what it answers.
        embed.set_author(name=trim_to(f"You asked: {' '.join(question.split())}", 256))
        await reply(interaction, embed, private=private)

    @app_commands.command(name="glossary", description="A word from the article explained in plain language")
    @app_commands.describe(term="The word, e.g. hyperalgesia (start typing for the list)",
                           private="Only you see the reply (by default the channel sees it)")
    async def glossary(self, interaction: Interaction, term: app_commands.Range[str, 1, 100],
                       private: bool = False) -> None:
        entry = await in_time(interaction, study.glossary_entry(self.db, term), ephemeral=private)
        await reply(interaction, embed_from_card(study.render_glossary(entry)), private=private)

    @glossary.autocomplete("term")
    async def glossary_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            terms = await study.glossary_choices(self.db, current)
        except UserFacingError:
            return []  # no article loaded: an empty list is the only answer autocomplete can give
        return [app_commands.Choice(name=t, value=t) for t in terms]

    @app_commands.command(name="source", description="Where the article and the study come from: headline, byline, journal, reference")
    @app_commands.describe(private="Only you see the reply (by default the channel sees it)")
    async def source(self, interaction: Interaction, private: bool = False) -> None:
        info = await in_time(interaction, study.source(self.db), ephemeral=private)
        await reply(interaction, embed_from_card(study.render_source(info)), private=private)


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(Study(bot))
