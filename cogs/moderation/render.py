"""How a post looks in Discord: its queue embed with the safety flags, the status line on its queue
message, its published form, a line of its history, and Discord's answer as a sentence."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import discord

from bot import posts, safety, sanitize, scans
from bot.posts import Post, PostEventName, PostState, PublishState
from cogs.utils.formats import (
    BRAND_COLOUR,
    CONTENT_MAX,
    DESCRIPTION_MAX,
    EMBED_TOTAL,
    FIELD_MAX,
    clip,
    footer_note,
    when,
)

URGENT_COLOUR = discord.Colour(0xC0392B)


FLAGGED_COLOUR = discord.Colour(0xE67E22)


FLAG_TEXT = {
    safety.CRISIS_FLAG: "🚨 crisis language",
    safety.POSSIBLE_CRISIS_FLAG: "⚠️ possible crisis (the member was not messaged)",
    safety.CURE_CLAIM_FLAG: "💊 unproven cure claim",
    sanitize.INVITE_LINK: "🔗 Discord invite link",
    sanitize.MARKDOWN_LINK: "🔗 link with hidden address ([text](url))",
    sanitize.LINK: "🔗 web link",
    sanitize.MENTIONS_NEUTRALISED: "@ mentions made harmless",
    sanitize.HIDDEN_CHARACTERS_REMOVED: "👻 hidden characters removed",
}


def member_since(member: Any, *, anonymous: bool) -> str | None:
    joined = getattr(member, "joined_at", None)
    if joined is None:
        return None
    if not anonymous:
        return f"joined this server {discord.utils.format_dt(joined, 'R')}"
    days = (discord.utils.utcnow() - joined).days
    tenure = next((text for limit, text in TENURE_STEPS if days < limit), "over a year")
    return f"in this server for {tenure}"


def flag_lines(post: Post, scan: safety.SafetyScan | None) -> list[str]:
    lines = [FLAG_TEXT.get(flag, flag.replace("_", " ")) for flag in post.flags]
    if scan is not None and scan.matched:
        lines.append("Matched: " + ", ".join(f"“{clip(m, 60)}”" for m in scan.matched[:5]))
    if scan is not None and scan.evidence_note:
        lines.append(scan.evidence_note)
    return lines


TEXT_CONTINUED = "Text, continued"


def fit(embed: discord.Embed, budget: int = EMBED_TOTAL) -> discord.Embed:
    """Keep the embed within Discord's total of 6,000 characters by shortening its other fields,
    longest first; the post's text (the description and its continuation) is never cut: a moderator
    approves exactly what they read."""
    while (excess := len(embed) - budget) > 0:
        others = [(len(f.value or ""), i) for i, f in enumerate(embed.fields) if f.name != TEXT_CONTINUED]
        if not others or max(others)[0] <= 1:
            break
        length, index = max(others)
        field = embed.fields[index]
        embed.set_field_at(index, name=field.name, value=clip(field.value or "", max(length - excess, 1)),
                           inline=field.inline)
    return embed


def add_text(embed: discord.Embed, text: str) -> discord.Embed:
    """The whole text: the description holds what fits, fields hold the rest, in order."""
    embed.description = text[:DESCRIPTION_MAX]
    rest = text[DESCRIPTION_MAX:]
    while rest:
        embed.add_field(name=TEXT_CONTINUED, value=rest[:FIELD_MAX], inline=False)
        rest = rest[FIELD_MAX:]
    return embed


async def queue_embed(post: Post, *, member_line: str | None, scan: safety.SafetyScan | None = None) -> discord.Embed:
    """The post as moderators see it: text, topics, flags, anonymity, who and since when. The flags
    come from the scan stored with the post at submit; only a post without one is scanned here."""
    scan = scan or post.scan
    if scan is None and post.text:
        scan = await asyncio.to_thread(safety.scan, scans.post_text(post.text, post.topic_hint))
    colour = URGENT_COLOUR if post.urgent else FLAGGED_COLOUR if post.flags else BRAND_COLOUR
    title = f"{post.label} · 🚨 urgent" if post.urgent else post.label
    text = post.text or "*Withdrawn by its author: the text is deleted.*"
    embed = add_text(discord.Embed(title=title, colour=colour), text)
    if post.topic_hint:
        embed.add_field(name="Topic hint", value=clip(post.topic_hint, FIELD_MAX), inline=True)
    embed.add_field(name="Detected topics", value=clip(", ".join(post.topics) or "none", FIELD_MAX), inline=True)
    flags = flag_lines(post, scan)
    embed.add_field(name="Flags", value=clip("\n".join(flags) or "none", FIELD_MAX), inline=False)
    # Anonymous means anonymous to moderators too: Block author and /mod unblock post: work without a name.
    author = "anonymous: nobody sees who" if post.anonymous else f"<@{post.author_id}>, under their name"
    author += f" · {member_line}" if member_line else ""
    embed.add_field(name="Author", value=clip(author, FIELD_MAX), inline=False)
    embed.set_footer(text=f"{post.label} · submitted · Reject asks for a reason, which the author is shown")
    embed.timestamp = datetime.fromisoformat(post.created_at)
    return fit(embed)


# A post's history in words, where the event's own name ("publish failed") does not say it.
EVENT_WORDS = {
    PostEventName.CREATED: "shared",
    PostEventName.QUEUE_FAILED: "not posted to the queue channel yet",
    PostEventName.DM_SENT: "author told by DM",
    PostEventName.DM_FAILED: "author's DMs closed: the decision is in their /myposts",
}


def history_line(post: Post, event: posts.PostEvent) -> str:
    hidden = post.anonymous and event.actor_id == post.author_id
    who = f" by <@{event.actor_id}>" if event.actor_id and not hidden else ""
    extra = ""
    if event.event in (PostEventName.PUBLISH_FAILED, PostEventName.QUEUE_FAILED):
        extra = f": {clip(str(event.detail.get('error', '')), 150)}"
    described = EVENT_WORDS.get(event.event, event.event.replace("_", " "))
    return f"{when(event.created_at, 'f')} · {described}{who}{extra}"


def published_embeds(post: Post) -> list[discord.Embed]:
    """The post as the community sees it: no name at all when anonymous."""
    text = post.text
    first, rest = text[:DESCRIPTION_MAX], text[DESCRIPTION_MAX:]  # only a post full of neutralised mentions is longer
    embed = discord.Embed(description=first, colour=BRAND_COLOUR)
    embed.set_author(name=clip(f"Shared by {post.shown_name}", 256))
    if post.topics:
        embed.add_field(name="Topics", value=clip(", ".join(post.topics), FIELD_MAX))
    embeds = [embed]
    if rest:
        embeds.append(discord.Embed(description=rest, colour=BRAND_COLOUR))
    embeds[-1].set_footer(text=footer_note(f"{post.label} · reviewed by this server's moderators"))
    return embeds


def status_line(post: Post) -> str:
    """The queue message's content: where the post stands, for the moderators."""
    urgent = "🚨 **Urgent** · " if post.urgent else ""
    if post.state == PostState.PENDING:
        if post.alerts_moderators:
            return ("🚨 **Urgent: this post may come from someone in crisis.** They were shown the server's crisis "
                    "resources at once. Please look at it soon.")
        if post.possible_crisis:
            return ("⚠️ **Possible crisis**: the wording may come from someone struggling. It is first in the queue; "
                    "the member was not messaged. Please read it soon.")
        return ""
    who = f" by <@{post.decided_by}>" if post.decided_by else ""
    if post.state == PostState.REJECTED:
        return clip(f"{urgent}❌ **Rejected**{who} {when(post.decided_at)}. Reason shown to the author: "
                    f"{post.reason or '(none)'}", CONTENT_MAX)
    if post.state == PostState.WITHDRAWN:
        return f"{urgent}↩️ **Withdrawn by its author**: the text is deleted."
    line = f"{urgent}✅ **Approved**{who} {when(post.decided_at)}"
    if post.publish_state == PublishState.PUBLISHED:
        line += f" · published in <#{post.published_channel_id}>"
    elif post.publish_state == PublishState.FAILED:
        line += (f" · ⚠️ **not published yet**: {post.publish_error} Next try {when(post.publish_next_at)}; "
                 "nothing is lost.")
    else:
        line += " · publishing…"
    return clip(line, CONTENT_MAX)


def http_problem(error: discord.HTTPException, where: str) -> str:
    if isinstance(error, discord.Forbidden):
        return f"Discord refused: I'm missing a permission in {where} ({error.status})."
    if isinstance(error, discord.NotFound):
        return f"{where} no longer exists ({error.status})."
    if error.status == 429:
        return "Discord asked me to slow down (429)."
    if error.status >= 500:
        return f"Discord had a server error ({error.status}); this usually passes."
    return f"Discord answered {error.status}: {clip(error.text or 'no details', 200)}"


# For an anonymous post, how long the author has been here is told in coarse steps: an exact join
# date can be matched against the member list.
TENURE_STEPS = ((7, "less than a week"), (30, "1 to 4 weeks"), (182, "1 to 6 months"), (365, "6 to 12 months"))
