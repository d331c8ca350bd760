"""/about: what the bot is, what it keeps about members and why, and how to reach the moderators."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__, library, study
from bot.safety import DEFAULT_CRISIS_RESOURCES
from bot.text import trim_to
from cogs.utils.context import Interaction, guild_config
from cogs.utils.formats import brand_embed, footer_note

if TYPE_CHECKING:
    from bot.app import FibroCircle


class About(commands.Cog):
    def __init__(self, bot: FibroCircle):
        self.bot = bot

    @app_commands.command(name="about", description="What Fibro Circle is, what it keeps about you, and how to reach the moderators")
    async def about(self, interaction: Interaction) -> None:
        config = await guild_config(interaction) if interaction.guild_id else None
        server = await (library.for_server(self.bot.db, config) if config is not None
                        else library.shown_in(self.bot.db, None))
        featured = server.featured
        anonymous = config is None or config.anonymous_allowed
        embed = brand_embed(
            "About Fibro Circle",
            "A companion for fibromyalgia and chronic-pain support groups. It explains "
            + ("the article this server features" if featured is not None else "the articles a server chooses")
            + " in plain words, shares what people living with fibromyalgia have written, and lets you share "
            "your own experience with this server, "
            + ("anonymously or under your name, as you choose each time." if anonymous
               else "under your server name (this server does not allow anonymous posts)."),
        )
        if featured is not None:
            brief = study.in_brief(await study.get_card(self.bot.db, featured.id))
            embed.add_field(name="What you can read",
                            value=trim_to(f"“{featured.title}”, with {featured.comments} reader comments. {brief} "
                                          "Try `/study summary`, `/study ask` and `/quote`.", 1024), inline=False)
        embed.add_field(
            name="What the bot keeps about you",
            value="Only what you choose to share with `/share`, its review state, and your member id so that "
                  "you can be told of the decision and can withdraw or delete it. Anonymous posts are shown "
                  "without your name. See `/privacy`, and `/mydata` to see, export or delete it.",
            inline=False)
        role = None
        if config is not None and config.moderator_role and interaction.guild is not None:
            role = interaction.guild.get_role(config.moderator_role)
        if role is not None:
            reach = (f"Moderators review every shared post before anyone else sees it. To reach them, message a "
                     f"member with the **{discord.utils.escape_markdown(role.name)}** role.")
        elif interaction.guild_id:
            reach = ("Moderators review every shared post before anyone else sees it. This server has not named a "
                     "moderator role yet: message one of its admins.")
        else:
            reach = "Moderators review every shared post before anyone else sees it, in each server that uses the bot."
        embed.add_field(name="Reaching the moderators", value=reach, inline=False)
        resources = (config.crisis_resources if config is not None else "") or DEFAULT_CRISIS_RESOURCES
        embed.add_field(name="If you are in crisis", value=trim_to(resources.strip(), 1024), inline=False)
        embed.set_footer(text=footer_note(f"Fibro Circle {__version__}"))
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(About(bot))
