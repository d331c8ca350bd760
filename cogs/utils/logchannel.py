"""Mirroring the audit log to the server's log channel."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable

import discord

from bot import audit
from bot.audit import AuditEntry
from bot.guild_settings import SETTINGS, GuildConfig
from cogs.utils.formats import CONTENT_MAX

if TYPE_CHECKING:
    from bot.app import FibroCircle

log = logging.getLogger("fibrocircle.admin")


async def mirror_to_log(bot: FibroCircle, guild: discord.Guild, entries: Iterable[AuditEntry | None], *,
                        note: str | None = None, config: GuildConfig | None = None) -> None:
    """Post audit entries to the server's log channel, if it has one the bot can write in. `config`:
    the server's settings when the caller has read them already (an interaction's `guild_config`).

    Never raises: the change is already saved and audited; a log channel that fails is logged."""
    shown = [e for e in entries if e is not None
             and not getattr(SETTINGS.get(str(e.detail.get("setting"))), "internal", False)]
    if not shown:
        return
    config = config or await bot.guild_settings.get(guild.id)
    channel = guild.get_channel(config.log_channel) if config.log_channel else None
    if not isinstance(channel, discord.TextChannel):
        return
    perms = channel.permissions_for(guild.me)
    if not (perms.view_channel and perms.send_messages):
        log.warning("guild %s: can't mirror the audit log to channel %s (missing permissions)", guild.id, channel.id)
        return
    chunk: list[str] = []
    chunks = [chunk]
    for line in [audit.format_entry(e) for e in shown] + ([note] if note else []):
        if chunk and len("\n".join(chunk + [line])) > CONTENT_MAX:
            chunk = []
            chunks.append(chunk)
        chunk.append(line)
    for lines in chunks:
        try:  # the client's allowed_mentions forbid pings: mentions render as names only
            await channel.send("\n".join(lines))
        except discord.HTTPException:
            log.warning("guild %s: mirroring the audit log to channel %s failed", guild.id, channel.id, exc_info=True)
            return
