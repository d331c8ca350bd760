"""What only Discord knows about a server's settings: whether a chosen channel is a text channel the
bot can write in and moderators alone can read, whether a role can be the moderator role, and what
needs an admin's attention."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot import audit
from bot.audit import AuditEntry
from bot.errors import UserFacingError
from bot.guild_settings import NOTHING_CHANGED, SETTINGS, GuildConfig
from cogs.utils.checks import missing_permissions
from cogs.utils.context import Interaction

if TYPE_CHECKING:
    from bot.app import FibroCircle

# The channel kinds an admin chooses with /config channel, and the setting each one fills.
CHANNEL_KINDS = {"posts": "posts_channel", "queue": "queue_channel", "log": "log_channel"}


# Channels meant for moderators only: pending posts (anonymous ones too) and moderation decisions.
MODERATOR_ONLY = ("queue_channel", "log_channel")


TEXT_CHANNEL_TYPES = [discord.ChannelType.text, discord.ChannelType.news]


def label_of(name: str) -> str:
    return SETTINGS[name].label


def everyone_can_read(channel: discord.abc.GuildChannel) -> bool:
    return channel.permissions_for(channel.guild.default_role).view_channel


def privacy_warning(name: str, channel: discord.abc.GuildChannel) -> str | None:
    if name in MODERATOR_ONLY and everyone_can_read(channel):
        what = "pending posts (anonymous ones too)" if name == "queue_channel" else "moderation decisions"
        return (f"Everyone in the server can read {channel.mention}: {what} should be seen by moderators only. "
                "Consider making the channel private (deny View Channel to @everyone, allow it to moderators "
                "and to Fibro Circle).")
    return None


def check_channel(name: str, channel: Any) -> discord.TextChannel:
    """The channel if the bot can use it for setting `name`; otherwise a refusal that says exactly why."""
    label = label_of(name).lower()
    if not isinstance(channel, discord.TextChannel):
        kind = getattr(getattr(channel, "type", None), "name", "other").replace("_", " ")
        where = getattr(channel, "mention", "That channel")
        raise UserFacingError(f"{where} is a {kind} channel; the {label} must be a text channel, since the bot "
                              f"posts messages there. {NOTHING_CHANGED}")
    missing = missing_permissions(channel)
    if missing:
        raise UserFacingError(
            f"I can't use {channel.mention} as the {label}: I'm missing {', '.join(missing)} there. Give "
            f"Fibro Circle {'this permission' if len(missing) == 1 else 'these permissions'} in the channel's "
            f"settings (Edit Channel → Permissions), then try again. {NOTHING_CHANGED}")
    return channel


def check_moderator_role(role: discord.Role) -> discord.Role:
    if role.is_default():
        raise UserFacingError("@everyone can't be the moderator role: every member could review posts, including "
                              f"anonymous ones. Choose a role only moderators have. {NOTHING_CHANGED}")
    if role.managed:
        raise UserFacingError(f"{role.mention} belongs to a bot or integration and can't be given to people. "
                              f"Choose a role your moderators have. {NOTHING_CHANGED}")
    return role


class TextChannelOption(app_commands.Transformer):
    """A channel option that offers text channels only and explains the refusal if something else
    arrives anyway (instead of discord.py's generic "not a valid value")."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return TEXT_CHANNEL_TYPES

    async def transform(self, interaction: Interaction, value: Any) -> Any:
        channel = interaction.guild.get_channel(value.id) if interaction.guild else None
        if channel is None:
            raise UserFacingError(f"I can't see that channel. Check that Fibro Circle has View Channel there. {NOTHING_CHANGED}")
        return channel  # the kind is checked by check_channel, which names the setting


def server_problems(guild: discord.Guild, config: GuildConfig) -> list[str]:
    """What only Discord knows is wrong: channels gone, permissions missing, private channels public."""
    problems = []
    for name in CHANNEL_KINDS.values():
        channel_id = getattr(config, name)
        if channel_id is None:
            continue
        channel = guild.get_channel(channel_id)
        if channel is None:
            problems.append(f"The {label_of(name).lower()} (id {channel_id}) no longer exists: choose another.")
            continue
        if not isinstance(channel, discord.TextChannel):
            problems.append(f"The {label_of(name).lower()} {channel.mention} is not a text channel: choose another.")
            continue
        missing = missing_permissions(channel)
        if missing:
            problems.append(f"In {channel.mention} ({label_of(name).lower()}) I'm missing {', '.join(missing)}.")
        warning = privacy_warning(name, channel)
        if warning:
            problems.append(warning)
    if config.moderator_role is not None and guild.get_role(config.moderator_role) is None:
        problems.append(f"The moderator role (id {config.moderator_role}) no longer exists: choose another.")
    return problems


async def forgotten_notes(bot: FibroCircle, config: GuildConfig) -> list[str]:
    """Settings still empty because their channel or role was deleted, from the audit log."""
    latest: dict[str, AuditEntry] = {}
    for entry in await audit.recent(bot.db, config.guild_id, limit=100, action=audit.SETTING_CHANGED):
        latest.setdefault(str(entry.detail.get("setting")), entry)
    notes = []
    for name, entry in latest.items():
        how = entry.detail.get("how")
        if how in ("channel deleted", "role deleted") and name in SETTINGS and getattr(config, name) is None:
            thing = how.split()[0]
            notes.append(f"The {label_of(name).lower()} was cleared because its {thing} was deleted "
                         f"({entry.created_at[:16].replace('T', ' ')} UTC). Choose a new one.")
    return notes
