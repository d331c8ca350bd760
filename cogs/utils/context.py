"""The bot's type, for cogs: `Interaction` is a discord.Interaction whose client is Fibro Circle's
bot (`bot.app.FibroCircle`), so that `interaction.client.db` and `.guild_settings` are known to a
type checker without an import of the running bot at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    from bot.app import FibroCircle

    Interaction = discord.Interaction[FibroCircle]
else:
    Interaction = discord.Interaction
