"""Who may do what, and what the bot may do where: the Manage Server check for /config, the
moderator check for the queue, and the bot's missing permissions in a channel."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot import audit, posts
from bot.audit import AuditEntry
from bot.errors import NotAllowed, UserFacingError
from bot.guild_settings import NOTHING_CHANGED, GuildConfig
from cogs.utils.context import Interaction, guild_config

ACTION_REFUSED = "config.refused"


READ_ONLY_COMMANDS = ("config show", "config export")


# What the bot must be allowed to do in each of those channels: it posts embeds there.
NEEDED_IN_CHANNEL = {"view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links"}


class NeedsManageServer(app_commands.CheckFailure, NotAllowed):
    """A member without Manage Server tried /config or a setup button. Being a CheckFailure lets
    the command tree hand it to the one error handler; being NotAllowed makes that handler show
    this message and note the refusal."""

    def __init__(self, *, would_change: bool = True) -> None:
        super().__init__("Only members with the Manage Server permission can see or change Fibro Circle's "
                         "settings." + (f" {NOTHING_CHANGED}" if would_change else ""))


def has_manage_server(interaction: Interaction) -> bool:
    # interaction.permissions are the member's permissions in this channel; Administrator implies all.
    return interaction.guild is not None and interaction.permissions.manage_guild


async def require_manage_server(interaction: Interaction) -> None:
    """Servers can override who sees /config, so the permission is checked again on every use."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if has_manage_server(interaction):
        return
    what = interaction.command.qualified_name if interaction.command else "setup wizard"
    await audit.record_now(interaction.client.db, guild_id=interaction.guild.id,
                           actor_id=interaction.user.id, action=ACTION_REFUSED, target=what[:200])
    raise NeedsManageServer(would_change=what not in READ_ONLY_COMMANDS)


def missing_permissions(channel: discord.abc.GuildChannel) -> list[str]:
    perms = channel.permissions_for(channel.guild.me)
    return [shown for flag, shown in NEEDED_IN_CHANNEL.items() if not getattr(perms, flag)]


class NotModerator(app_commands.CheckFailure, NotAllowed):
    """Raised for anyone who is not a moderator; the one error handler shows the message, then
    mirrors the refusal's audit entry to the log channel (`to_mirror`)."""

    def __init__(self, refusal: AuditEntry | None = None, *, note: str | None = None) -> None:
        super().__init__("Only this server's moderators can review posts: members with the moderator role, "
                         "or with the Manage Server permission. Nothing was changed.")
        self.to_mirror = [refusal] if refusal is not None else []
        self.mirror_note = note


def is_moderator(interaction: Interaction, config: GuildConfig) -> bool:
    """The server's moderator role, or Manage Server. The only place this is decided."""
    if has_manage_server(interaction):
        return True
    role_id = config.moderator_role
    roles = getattr(interaction.user, "roles", ())
    return role_id is not None and any(role.id == role_id for role in roles)


async def require_moderator(interaction: Interaction, *, attempted: str,
                            post_id: int | None = None) -> GuildConfig:
    """The server's settings when the member is a moderator; otherwise audit the attempt and refuse."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    bot = interaction.client
    config = await guild_config(interaction)
    if is_moderator(interaction, config):
        return config
    refusal = await posts.record_refusal(bot.db, guild_id=interaction.guild.id, actor_id=interaction.user.id,
                                         attempted=attempted, post_id=post_id)
    # Every attempt is in the audit log; the log channel gets one line per member per ten minutes,
    # which says how many were not mirrored since the last one. Mirrored after the member has the
    # answer (by the error handler): the log channel may be busy (five messages per five seconds),
    # and Discord's three seconds for the answer do not wait for it.
    limiter = bot.limits.refusal_mirror
    key = (interaction.guild.id, interaction.user.id)
    if limiter.retry_after(key) is None:
        skipped = limiter.take_skipped(key)
        note = (f"… and {skipped} more refused attempt{'s' if skipped != 1 else ''} by the same member before this "
                "one, not mirrored here (all are in the audit log)") if skipped else None
        raise NotModerator(refusal, note=note)
    raise NotModerator()


class BadOption(app_commands.AppCommandError, UserFacingError):
    """A command arrived with an option Discord's client would have refused (a modified client, or
    commands out of sync): the member is told what to change; nothing ran."""


def check_options(interaction: Interaction) -> None:
    """Hold a slash command's options to its own definition before it runs: required options,
    number ranges, text lengths and choices. Discord's client keeps them, but the interaction can
    be sent without it, and discord.py does not check them again."""
    if interaction.type is not discord.InteractionType.application_command:
        return
    command = interaction.command
    if not isinstance(command, app_commands.Command):
        return
    given: list[dict[str, Any]] = list((interaction.data or {}).get("options") or [])  # type: ignore[union-attr]
    while given and given[0].get("type") in (1, 2):  # down to the subcommand being run
        given = list(given[0].get("options") or [])
    values = {o.get("name"): o.get("value") for o in given}
    where = f"/{command.qualified_name}"
    for param in command.parameters:
        name = param.display_name
        if name not in values:
            if param.required:
                raise BadOption(f"{where} needs {name} ({param.description.rstrip('.')}). Please try again with it.")
            continue
        problem = _option_problem(param, values[name])
        if problem:
            raise BadOption(f"{where}: {problem}. Please try again with that.")


def _option_problem(param: app_commands.Parameter, value: Any) -> str | None:
    name, kind = param.display_name, param.type
    if param.choices and value not in [c.value for c in param.choices]:
        return f"{name} is one of " + ", ".join(c.name for c in param.choices)
    if kind in (discord.AppCommandOptionType.integer, discord.AppCommandOptionType.number):
        whole = kind is discord.AppCommandOptionType.integer
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            return f"{name} is a {'whole ' if whole else ''}number"
        low, high = param.min_value, param.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{name} goes from {low} to {high}" if low is not None and high is not None else \
                f"{name} is at least {low}" if low is not None else f"{name} is at most {high}"
    if kind is discord.AppCommandOptionType.string and isinstance(value, str):
        low, high = param.min_value, param.max_value  # for text, discord.py keeps the lengths here
        if low is not None and len(value) < low:
            return f"{name} needs at least {low} characters"
        if high is not None and len(value) > high:
            return f"{name} takes at most {high} characters (this one has {len(value)})"
    if kind is discord.AppCommandOptionType.boolean and not isinstance(value, bool):
        return f"{name} is True or False"
    return None
