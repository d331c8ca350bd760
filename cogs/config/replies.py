"""What /config answers: a change as a sentence, and every setting in one embed."""

from __future__ import annotations

from typing import Iterable

import discord

from bot.guild_settings import NOTHING_CHANGED, SETTINGS, GuildConfig, SettingChange, describe, value_text
from cogs.utils.formats import CONTENT_MAX, brand_embed, clip


def change_line(change: SettingChange) -> str:
    s = SETTINGS[change.name]
    if s.kind == "text":  # long text reads better quoted on its own lines; the old text is in the log
        quoted = "\n".join(f"> {line}" for line in str(change.new).splitlines())
        return f"**{s.label}** {'is now' if change.changed else 'was already'}:\n{quoted}"
    if not change.changed:
        return f"**{s.label}** was already {value_text(s, change.new)}."
    return f"**{s.label}** is now {value_text(s, change.new)} (was {value_text(s, change.old)})."


def reply_for(changes: list[SettingChange], notes: Iterable[str] = ()) -> str:
    lines = [change_line(c) for c in changes]
    if lines and not any(c.changed for c in changes):
        lines.append(NOTHING_CHANGED)
    lines += [f"⚠️ {note}" for note in notes]
    return clip("\n".join(lines), CONTENT_MAX)


def show_embed(guild: discord.Guild, config: GuildConfig, problems: list[str]) -> discord.Embed:
    if problems:
        description = "**Needs attention**\n" + "\n".join(f"• {p}" for p in problems)
    else:
        description = "Everything is set up."
    embed = brand_embed(f"Fibro Circle settings for {guild.name}", clip(description, 3000))
    for view in describe(config):
        marker = " · default" if view.is_default else ""
        hint = f"\n*{view.description}*"
        value = clip(view.value_text, 1024 - len(marker) - len(hint)) + marker + hint
        embed.add_field(name=view.label, value=value, inline=view.kind != "text")
    embed.set_footer(text="Change one with /config channel, moderator-role, posting…; "
                          "/config reset puts one back to its default.")
    return embed
