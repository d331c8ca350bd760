"""/config export and import: a server's settings as a JSON file, matched by name in another
server; a file that names channels or roles this server does not have changes nothing."""

from __future__ import annotations

from typing import Any

import discord

from bot.errors import UserFacingError
from bot.guild_settings import NOTHING_CHANGED, SETTINGS
from cogs.config.channels import check_channel, check_moderator_role
from cogs.utils.formats import clip


def match_by_name(data: Any, guild: discord.Guild) -> list[str]:
    """In a file exported from another server, point channel and role ids that don't exist here at
    the channel or role of the same name here. Changes `data` in place; returns what it matched."""
    settings_in_file = data.get("settings") if isinstance(data, dict) else None
    names = data.get("names") if isinstance(data, dict) else None
    if not isinstance(settings_in_file, dict) or not isinstance(names, dict):
        return []
    matched = []
    for name, value in settings_in_file.items():
        s = SETTINGS.get(name) if isinstance(name, str) else None
        wanted = names.get(name)
        if s is None or s.kind not in ("channel", "role") or not isinstance(wanted, str):
            continue
        if not (isinstance(value, str) and value.isdigit()):
            continue
        here = guild.get_channel(int(value)) if s.kind == "channel" else guild.get_role(int(value))
        if here is not None:
            continue  # the same server, or an id that exists here: use it as it is
        pool: list[Any] = guild.text_channels if s.kind == "channel" else [r for r in guild.roles if not r.is_default()]
        same_name = [x for x in pool if x.name.lower() == wanted.lower()]
        if len(same_name) == 1:
            settings_in_file[name] = str(same_name[0].id)
            matched.append(f"{s.label}: matched {same_name[0].mention} by its name.")
        else:
            matched.append(f"{s.label}: this server has {'no' if not same_name else 'more than one'} {s.kind} "
                           f"called “{clip(wanted, 100)}”; choose one with /config or the setup wizard.")
    return matched


def check_usable_here(data: Any, guild: discord.Guild) -> None:
    """Refuse a file whose channels or roles exist here but could not be chosen with /config
    (a voice channel, a channel the bot can't post in, a bot's role): the same rules, nothing changed."""
    settings_in_file = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(settings_in_file, dict):
        return  # the core says what is wrong with the file
    problems = []
    for name, value in settings_in_file.items():
        s = SETTINGS.get(name) if isinstance(name, str) else None
        if s is None or s.kind not in ("channel", "role") or not (isinstance(value, str) and value.isdigit()):
            continue
        thing = guild.get_channel(int(value)) if s.kind == "channel" else guild.get_role(int(value))
        if thing is None:
            continue  # not in this server: the import skips it and says so
        try:
            check_channel(name, thing) if s.kind == "channel" else check_moderator_role(thing)
        except UserFacingError as e:
            problems.append(f"{name}: " + str(e).replace(f" {NOTHING_CHANGED}", ""))
    if problems:
        raise UserFacingError("That file can't be used in this server as it is:\n- " + "\n- ".join(problems)
                              + f"\nFix these here, or remove them from the file. {NOTHING_CHANGED}")
