"""What every cog shares: the one error handler, reply helpers, and base classes for views and
modals whose errors go to that same handler."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Awaitable, TypeVar

import discord
from discord import app_commands

from bot.errors import NotAllowed, UserFacingError
from cogs.utils.context import Interaction, guild_config
from cogs.utils.logchannel import mirror_to_log

log = logging.getLogger("fibrocircle.errors")
T = TypeVar("T")

UNKNOWN_INTERACTION = 10062   # Discord's answer to a first response after its 3 seconds

GENERIC_ERROR = ("Sorry, something went wrong on our side, so this may not have worked. "
                 "If it keeps happening, tell a moderator the reference `{ref}`.")


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, (app_commands.CommandInvokeError, app_commands.TransformerError)) and error.__cause__:
        if isinstance(error, app_commands.TransformerError) and not isinstance(error.__cause__, UserFacingError):
            break
        error = error.__cause__
    return error


def describe_error(error: BaseException) -> tuple[str, bool]:
    """(message for the member, whether it was expected). Unexpected errors get a reference id."""
    error = _unwrap(error)
    if isinstance(error, UserFacingError):
        return str(error), True
    if isinstance(error, app_commands.MissingPermissions):
        perms = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {perms} permission to use this.", True
    if isinstance(error, app_commands.BotMissingPermissions):
        perms = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I need the {perms} permission here to do that. A server admin can grant it.", True
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works inside a server, not in direct messages.", True
    if isinstance(error, app_commands.CommandOnCooldown):
        return (f"That's a lot of requests in a row, so I'm pausing yours for a moment: please try again in "
                f"{max(1, round(error.retry_after))} seconds. Nothing was changed."), True
    if isinstance(error, app_commands.TransformerError):
        return f"“{str(error.value)[:100]}” isn't a valid value for that option. Please pick one from the list.", True
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here.", True
    return "", False


async def report_error(interaction: Interaction, error: BaseException) -> None:
    """The one error handler: a short, kind, ephemeral message; the traceback goes to the log."""
    original = _unwrap(error)
    if isinstance(original, discord.NotFound) and original.code == UNKNOWN_INTERACTION:
        # The first answer came after Discord's 3 seconds: the member already saw "This
        # interaction failed", and no message can reach them through this interaction any more.
        log.warning("%s answered too late for Discord (unknown interaction); nothing was sent", _where(interaction))
        return
    message, expected = describe_error(error)
    if not expected:
        ref = secrets.token_hex(4).upper()
        log.error("unexpected error [%s] in %s", ref, _where(interaction), exc_info=original)
        message = GENERIC_ERROR.format(ref=ref)
    elif isinstance(original, NotAllowed):
        log.info("refused %s for user %s: %s", _where(interaction), interaction.user.id, message)
    await send_ephemeral(interaction, message)
    # What a refusal audited goes to the log channel once the member has the answer.
    to_mirror = getattr(original, "to_mirror", None)
    if to_mirror and interaction.guild is not None:
        await mirror_to_log(interaction.client, interaction.guild, to_mirror, note=getattr(original, "mirror_note", None),
                            config=await guild_config(interaction))


def _where(interaction: Interaction) -> str:
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    # Only the kind of component: a custom_id can carry what a member typed (a /quote search).
    return f"component {':'.join(str(data.get('custom_id', '?')).split(':')[:2])!r}"


async def send_ephemeral(interaction: Interaction, content: str | None = None, **kwargs: Any) -> None:
    """Reply privately, whatever came before (a first answer, a defer, a follow-up); a failed
    delivery is logged, not raised (it is how errors reach the member)."""
    try:
        await reply(interaction, content, ephemeral=True, **kwargs)
    except discord.HTTPException:
        log.warning("could not deliver a private reply for %s", _where(interaction), exc_info=True)


async def defer(interaction: Interaction, *, ephemeral: bool, update: bool = False) -> None:
    """Defer the answer: a "thinking" reply, private or seen by the channel, or for a button or menu
    (`update`) a later edit of its message. `reply` needs to know which privacy the thinking reply has."""
    if update:
        await interaction.response.defer()
    else:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        interaction.extras[_THINKING] = ephemeral


# interaction.extras key: the privacy of a thinking reply that no follow-up has filled yet (every
# thinking defer goes through `defer`).
_THINKING = "fibrocircle.thinking_private"


async def reply(interaction: Interaction, content: str | None = None, *, ephemeral: bool, returning: bool = False,
                **kwargs: Any) -> discord.Message | None:
    """The one way to answer with a message, private (`ephemeral`) or seen by the channel, whether or
    not the interaction was already answered or deferred.

    After a deferred "thinking" reply, Discord makes the first follow-up fill that message and keeps
    the privacy the defer gave it, whatever the follow-up asks. So when they differ (say the channel
    was to see a quote and the answer is a private "nothing found" or an error) the thinking message
    is deleted first, and the follow-up is a message of its own with its own privacy.
    With `returning`, a reply the channel sees is returned (to record where members' words were shown)."""
    if interaction.type is discord.InteractionType.autocomplete:
        return None  # autocomplete cannot carry a message; an empty list is the answer
    if not interaction.response.is_done():
        await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)
        return await interaction.original_response() if returning and not ephemeral else None
    if interaction.extras.pop(_THINKING, ephemeral) != ephemeral:
        await interaction.delete_original_response()
    message = await interaction.followup.send(content, ephemeral=ephemeral, wait=returning, **kwargs)
    return message if returning and not ephemeral else None


class BaseView(discord.ui.View):
    """A view whose callback errors go to the one error handler."""

    async def on_error(self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        await report_error(interaction, error)


class DynamicView(discord.ui.View):
    """A view whose buttons and menus are all DynamicItems, answered from their custom_id (so they
    work after a restart). discord.py keeps every unfinished view it sends, and with timeout=None
    it would keep them for ever; a view that says it is finished is not kept."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_finished(self) -> bool:
        return True


class BaseModal(discord.ui.Modal):
    async def on_error(self, interaction: Interaction, error: Exception) -> None:
        await report_error(interaction, error)


class SafeDynamicItem:
    """Mixin for DynamicItem buttons: discord.py hands their errors to a throwaway View that only
    logs; wrapping `callback` sends them to the one error handler instead."""

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        wait = interaction.client.limits.press.retry_after(interaction.user.id)
        if wait is not None:  # a flood of presses, forged or not: a kind word, and nothing done
            await send_ephemeral(interaction, "You're pressing buttons faster than I can keep up, so I'm pausing "
                                              f"for a moment: please try again in {max(1, round(wait))} seconds. "
                                              "Nothing was changed.")
            return
        try:
            await self.handle(interaction)
        except Exception as error:  # noqa: BLE001 - every error is reported, none swallowed
            await report_error(interaction, error)

    async def handle(self, interaction: Interaction) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def form_values(interaction: Interaction) -> dict[str, str]:
    """Every text field and radio group of a submitted form by custom_id (a radio group's chosen
    option value, "" when none was picked), read from the interaction itself (the same after a
    restart, when discord.py no longer knows the form)."""
    values: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in (4, 21) and "custom_id" in node:
                values[str(node["custom_id"])] = str(node.get("value") or "")
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk((interaction.data or {}).get("components"))
    return values


def ask_limit():
    """A check for /quote and /study ask: a few in a row per member and server, then a pause (the
    one error handler answers kindly with how long to wait; nothing is searched or written)."""

    async def predicate(interaction: Interaction) -> bool:
        limiter = interaction.client.limits.ask
        command = interaction.command.qualified_name if interaction.command else ""
        wait = limiter.retry_after((command, interaction.guild_id, interaction.user.id))
        if wait is not None:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(limiter.rate, limiter.per), wait)
        return True

    return app_commands.check(predicate)


DEFER_AFTER = 1.5               # past this many seconds of work, defer so that Discord's 3 s are kept


async def in_time(interaction: Interaction, work: Awaitable[T], *, ephemeral: bool, update: bool = False) -> T:
    """Wait for `work`; if it runs long, defer first so that the interaction does not expire."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    if not done and not interaction.response.is_done():
        await defer(interaction, ephemeral=ephemeral, update=update)
    return await task
