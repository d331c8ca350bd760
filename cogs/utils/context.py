"""The bot's type, for cogs: `Interaction` is a discord.Interaction whose client is Fibro Circle's
bot (`bot.app.FibroCircle`), so that `interaction.client.db` and `.guild_settings` are known to a
type checker without an import of the running bot at run time; and the server's settings, read
once per interaction (`guild_config`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.guild_settings import GuildConfig

if TYPE_CHECKING:
    from bot.app import FibroCircle

    Interaction = discord.Interaction[FibroCircle]
else:
    Interaction = discord.Interaction


CONFIG_KEY = "fibrocircle.guild_config"


async def guild_config(interaction: Interaction, *, reread: bool = False) -> GuildConfig:
    """The server's settings for this interaction: read the first time a step of it asks, and kept on
    the interaction (`interaction.extras`) for every later step (the checks, the command, the error
    handler, the log channel). `reread=True` reads them again after this interaction changed them."""
    config = None if reread else interaction.extras.get(CONFIG_KEY)
    if config is None:
        assert interaction.guild_id is not None
        config = await interaction.client.guild_settings.get(interaction.guild_id)
        interaction.extras[CONFIG_KEY] = config
    return config
