"""The one place where a button press or form that nothing handles still gets an answer.

discord.py silently drops a component interaction whose custom_id matches no live view and no
registered DynamicItem (a view that timed out, a message from an older version of the bot, a forged
id), and a form (modal) submitted after the bot restarted. Discord then shows the member "This
interaction failed". Here every such interaction gets a short, private answer instead.

Before answering, every cog is asked whether it can still handle the interaction itself: a cog may
define `async def answer_orphan(self, interaction) -> bool` and return True when it answered (the
/share form uses this so that a post typed before a restart is not lost).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from cogs.utils.context import Interaction
from cogs.utils.replies import report_error, send_ephemeral

if TYPE_CHECKING:
    from bot.app import FibroCircle

log = logging.getLogger("fibrocircle.fallback")

NO_LONGER_WORKS = ("This button no longer works: the message is out of date. "
                   "Run the command again to get a fresh one.")
FORM_EXPIRED = "This form has expired. Please open it again with the same command."


def has_handler(interaction: Interaction) -> bool:
    """Whether discord.py will hand this interaction to a view, a DynamicItem or an open modal.

    Mirrors how discord.py's view store dispatches (`ViewStore.dispatch_view` and
    `dispatch_modal`): it keeps no public way to ask, so its store is read directly.
    """
    store = interaction.client._connection._view_store  # noqa: SLF001 - see the docstring
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    custom_id = str(data.get("custom_id", ""))
    if interaction.type is discord.InteractionType.modal_submit:
        return custom_id in store._modals  # noqa: SLF001
    # A DynamicItem is only called when the message really carries a component with that id.
    if any(pattern.fullmatch(custom_id) for pattern in store._dynamic_items) and \
            _message_has(interaction.message, custom_id, data.get("component_type")):  # noqa: SLF001
        return True
    key = (data.get("component_type"), custom_id)
    message_id = interaction.message.id if interaction.message is not None else None
    views = store._views  # noqa: SLF001
    return key in views.get(message_id, {}) or key in views.get(None, {})


def _message_has(message: discord.Message | None, custom_id: str, component_type: Any) -> bool:
    stack: list[Any] = list(message.components) if message is not None else []
    while stack:
        component = stack.pop()
        if getattr(component, "custom_id", None) == custom_id and component.type.value == component_type:
            return True
        stack.extend(getattr(component, "children", None) or [])
        if getattr(component, "accessory", None) is not None:
            stack.append(component.accessory)
    return False


class Fallback(commands.Cog):
    def __init__(self, bot: FibroCircle) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_interaction(self, interaction: Interaction) -> None:
        if interaction.type not in (discord.InteractionType.component, discord.InteractionType.modal_submit):
            return
        if has_handler(interaction):
            return
        try:
            for cog in list(self.bot.cogs.values()):
                answer = getattr(cog, "answer_orphan", None)
                if answer is not None and await answer(interaction):
                    return
        except Exception as error:  # noqa: BLE001 - reported like any other error
            await report_error(interaction, error)
            return
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        log.info("unhandled %s %r from user %s", interaction.type.name, str(data.get("custom_id"))[:100],
                 interaction.user.id)
        expired = interaction.type is discord.InteractionType.modal_submit
        await send_ephemeral(interaction, FORM_EXPIRED if expired else NO_LONGER_WORKS)


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(Fallback(bot))
