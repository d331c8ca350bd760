"""How the bot's messages look and what Discord lets them hold: the brand colour and footer,
clipping to a limit, stored times as Discord timestamps, and Discord's size limits in one place."""

from __future__ import annotations

from datetime import datetime, timezone

import discord

from bot.safety import NOT_MEDICAL_ADVICE

# Discord's limits, in characters.
CONTENT_MAX = 2000          # a message's content
TITLE_MAX = 256             # an embed's title, an embed author's name
DESCRIPTION_MAX = 4096      # an embed's description
FIELD_MAX = 1024            # an embed field's value
EMBED_TOTAL = 6000          # all embeds of one message together
CUSTOM_ID_MAX = 100         # a button's custom_id
MODAL_TITLE_MAX = 45        # a form's title


BRAND_COLOUR = discord.Colour(0x7B5EA7)  # fibromyalgia awareness purple


def footer_note(extra: str | None = None) -> str:
    return f"{extra} · {NOT_MEDICAL_ADVICE}" if extra else NOT_MEDICAL_ADVICE


def brand_embed(title: str, description: str | None = None) -> discord.Embed:
    return discord.Embed(title=title[:256], description=description, colour=BRAND_COLOUR)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def when(iso: str | None, style: str = "R") -> str:
    """A stored time as Discord's timestamp markup: each reader sees it in their own time zone."""
    if not iso:
        return "?"
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"<t:{int(moment.timestamp())}:{style}>"
