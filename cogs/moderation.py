"""The moderators' side of member posts: the queue, decisions, and the work that follows them.

- Each new post appears in the server's queue channel as an embed with Approve, Reject and Block
  author buttons. The buttons carry the post id in their custom_id (DynamicItem), so they work after
  a restart; the core refuses a post of another server or one already decided.
- Only moderators decide: the server's moderator role, or Manage Server (`is_moderator`, the one
  place that says so). Anyone else is refused privately and the attempt is audited.
- `/mod queue` pages through pending posts (urgent first) with the same buttons, for servers
  without a queue channel; `/mod post id:` shows one post and its history; `/mod unblock member:`.
- A decision is committed by the core before anything is said about it. What follows (publishing
  an approved post, telling the author by DM, deleting messages that show withdrawn text) is done by
  one background task, `PostWorker`, from what the database says is still to do: a restart or a
  Discord outage only delays it, and a failure is retried, never dropped.

The queue message keeps its embed (the post) for good; its content line says where the post
stands (urgent, approved by whom, published or why not yet).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import audit, posts, safety, sanitize
from bot.errors import NotAllowed, UserFacingError
from bot.guild_settings import GuildConfig
from bot.posts import Post
from cogs._post_worker import (DESCRIPTION_MAX, FIELD_MAX, PostWorker, clip, http_problem, show_status, status_line,
                                when)
from cogs._shared import DynamicView, BRAND_COLOUR, BaseModal, SafeDynamicItem, send_ephemeral
from cogs.admin import guild_settings, has_manage_server, mirror_to_log, missing_permissions

log = logging.getLogger("fibrocircle.moderation")

URGENT_COLOUR = discord.Colour(0xC0392B)
FLAGGED_COLOUR = discord.Colour(0xE67E22)
EMBED_TOTAL = 6000          # Discord's limit for all embeds of one message together

FLAG_TEXT = {
    safety.CRISIS_FLAG: "🚨 crisis language",
    safety.CURE_CLAIM_FLAG: "💊 unproven cure claim",
    sanitize.INVITE_LINK: "🔗 Discord invite link",
    sanitize.MARKDOWN_LINK: "🔗 link with hidden address ([text](url))",
    sanitize.LINK: "🔗 web link",
    sanitize.MENTIONS_NEUTRALISED: "@ mentions made harmless",
    sanitize.HIDDEN_CHARACTERS_REMOVED: "👻 hidden characters removed",
}


# -- who is a moderator ---------------------------------------------------------------------

class NotModerator(app_commands.CheckFailure, NotAllowed):
    """Raised for anyone who is not a moderator; the one error handler shows the message."""

    def __init__(self) -> None:
        super().__init__("Only this server's moderators can review posts: members with the moderator role, "
                         "or with the Manage Server permission. Nothing was changed.")


def is_moderator(interaction: discord.Interaction, config: GuildConfig) -> bool:
    """The server's moderator role, or Manage Server. The only place this is decided."""
    if has_manage_server(interaction):
        return True
    role_id = config.moderator_role
    roles = getattr(interaction.user, "roles", ())
    return role_id is not None and any(role.id == role_id for role in roles)


async def require_moderator(interaction: discord.Interaction, *, attempted: str,
                            post_id: int | None = None) -> GuildConfig:
    """The server's settings when the member is a moderator; otherwise audit the attempt and refuse."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    bot = interaction.client
    config = await guild_settings(bot).get(interaction.guild.id)  # type: ignore[arg-type]
    if is_moderator(interaction, config):
        return config
    await posts.record_refusal(bot.db, guild_id=interaction.guild.id, actor_id=interaction.user.id,  # type: ignore[attr-defined]
                               attempted=attempted, post_id=post_id)
    await mirror_latest(bot, interaction.guild, "moderation.refused", None if post_id is None else f"post:{post_id}")
    raise NotModerator()


async def mirror_latest(bot: Any, guild: discord.Guild, action: str, target: str | None) -> None:
    """Mirror the newest audit row of this kind (just written by the core) to the log channel."""
    for entry in await audit.recent(bot.db, guild.id, limit=10, action=action):
        if entry.target == target:
            await mirror_to_log(bot, guild, [entry])
            return


# -- showing a post -------------------------------------------------------------------------

# For an anonymous post, how long the author has been here is told in coarse steps: an exact join
# date can be matched against the member list.
TENURE_STEPS = ((7, "less than a week"), (30, "1 to 4 weeks"), (182, "1 to 6 months"), (365, "6 to 12 months"))


def member_since(member: Any, *, anonymous: bool) -> str | None:
    joined = getattr(member, "joined_at", None)
    if joined is None:
        return None
    if not anonymous:
        return f"joined this server {discord.utils.format_dt(joined, 'R')}"
    days = (discord.utils.utcnow() - joined).days
    tenure = next((text for limit, text in TENURE_STEPS if days < limit), "over a year")
    return f"in this server for {tenure}"


async def find_member_since(guild: discord.Guild, post: Post) -> str:
    member = guild.get_member(post.author_id)
    if member is None:
        try:
            member = await guild.fetch_member(post.author_id)
        except discord.NotFound:
            return "no longer in this server"
        except discord.HTTPException:
            return "time in this server unknown"
    return member_since(member, anonymous=post.anonymous) or "time in this server unknown"


def flag_lines(post: Post, scan: safety.SafetyScan | None) -> list[str]:
    lines = [FLAG_TEXT.get(flag, flag.replace("_", " ")) for flag in post.flags]
    if scan is not None and scan.matched:
        lines.append("Matched: " + ", ".join(f"“{clip(m, 60)}”" for m in scan.matched[:5]))
    if scan is not None and scan.evidence_note:
        lines.append(scan.evidence_note)
    return lines


def fit(embed: discord.Embed, budget: int = EMBED_TOTAL) -> discord.Embed:
    """Shorten the description so that the embed stays within Discord's total of 6,000 characters."""
    excess = len(embed) - budget
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, len(embed.description) - excess)
    return embed


async def queue_embed(post: Post, *, member_line: str | None, scan: safety.SafetyScan | None = None) -> discord.Embed:
    """The post as moderators see it: text, topics, flags, anonymity, who and since when."""
    if scan is None and post.text:
        scan = await asyncio.to_thread(safety.scan, post.text)
    colour = URGENT_COLOUR if post.urgent else FLAGGED_COLOUR if post.flags else BRAND_COLOUR
    title = f"{post.label} · 🚨 urgent" if post.urgent else post.label
    text = post.text or "*Withdrawn by its author: the text is deleted.*"
    embed = discord.Embed(title=title, description=clip(text, DESCRIPTION_MAX), colour=colour)
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


def decision_view(post_id: int) -> discord.ui.View:
    view = DynamicView()  # DynamicItems: they work after a restart too
    for action in ("approve", "reject", "block"):
        view.add_item(QueueButton(action, post_id))
    return view


async def edit_queue_message(bot: Any, post: Post) -> None:
    """Show the post's state on its queue message, with the buttons while it is still pending."""
    await show_status(bot, post, view=decision_view(post.id) if post.state == "pending" else None)


async def send_to_queue(bot: Any, guild: discord.Guild, post: Post, *, member: Any = None,
                        scan: safety.SafetyScan | None = None) -> bool:
    """Post a pending post to the queue channel (urgent ones with an alert line): right after /share,
    and from the worker for a post that never got there. Returns whether this call put it there.

    Without a queue channel the post waits in /mod queue. A failure (deleted channel, missing
    permission, 5xx, 429) is recorded and the worker tries again with growing pauses. The first time
    an urgent post cannot be put in the queue channel, the log channel is alerted instead.
    """
    config = await guild_settings(bot).get(guild.id)
    if config.queue_channel is None:
        if post.urgent and post.queue_attempts == 0:
            await alert_log_channel(guild, config, post)
        return False
    channel = guild.get_channel(config.queue_channel)
    problem, message, retry_in = None, None, PostWorker.retry_seconds
    if not isinstance(channel, discord.TextChannel):
        problem = "The queue channel no longer exists: an admin can choose another with /config channel kind:queue."
    elif missing_permissions(channel):
        problem = f"I'm missing {', '.join(missing_permissions(channel))} in {channel.mention}."
    else:
        line = (member_since(member, anonymous=post.anonymous) if member is not None
                else await find_member_since(guild, post))
        embed = await queue_embed(post, member_line=line, scan=scan)
        try:
            message = await channel.send(content=status_line(post) or None, embed=embed, view=decision_view(post.id))
        except discord.HTTPException as error:
            problem = http_problem(error, channel.mention)
            retry_in = getattr(error, "retry_after", None) or retry_in
    if message is None:
        log.warning("guild %s: posting %s to the queue channel failed: %s", guild.id, post.label, problem)
        if post.urgent and post.queue_attempts == 0:
            await alert_log_channel(guild, config, post)
        await posts.mark_queue_failed(bot.db, post.id, problem or "unknown error", retry_in)
        return False
    if not await posts.set_queue_message(bot.db, post.id, channel.id, message.id):
        # Another embed of this post got there first, or it was withdrawn meanwhile: this one goes.
        bot.dispatch("fibrocircle_work")
        return False
    fresh = await posts.get_post(bot.db, post.id)
    if fresh is not None and fresh.state != "pending":  # decided from /mod queue while this was sent
        await edit_queue_message(bot, fresh)
    return True


async def alert_log_channel(guild: discord.Guild, config: GuildConfig, post: Post) -> None:
    channel = guild.get_channel(config.log_channel) if config.log_channel else None
    if not isinstance(channel, discord.TextChannel) or missing_permissions(channel):
        return
    try:
        await channel.send(f"🚨 **Urgent:** {post.label} may come from someone in crisis. The member was shown the "
                           "crisis resources. Please review it soon with `/mod queue`.")
    except discord.HTTPException:
        log.warning("guild %s: the urgent alert for %s could not be sent", guild.id, post.label)


# -- reading forms --------------------------------------------------------------------------

def form_values(interaction: discord.Interaction) -> dict[str, str]:
    """Every text field of a submitted form by custom_id, read from the interaction itself (the same
    after a restart, when discord.py no longer knows the form)."""
    values: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == 4 and "custom_id" in node:
                values[str(node["custom_id"])] = str(node.get("value") or "")
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk((interaction.data or {}).get("components"))
    return values


# -- deciding -------------------------------------------------------------------------------

def bot_worker(bot: Any) -> "PostWorker | None":
    cog = bot.get_cog("Moderation")
    return None if cog is None else cog.worker


async def decide_and_show(interaction: discord.Interaction, post_id: int, *, approve: bool,
                          reason: str | None = None) -> None:
    """Approve or reject, committed first; then the message is updated and the worker woken."""
    attempted = "approve" if approve else "reject"
    await require_moderator(interaction, attempted=attempted, post_id=post_id)
    assert interaction.guild is not None
    bot = interaction.client
    post = await posts.decide(bot.db, post_id=post_id, guild_id=interaction.guild.id,  # type: ignore[attr-defined]
                              moderator_id=interaction.user.id, approve=approve, reason=reason)
    worker = bot_worker(bot)
    if worker is not None and approve:
        worker.deciders[post.id] = (interaction, time.monotonic())  # told if publishing fails
    await show_decision(interaction, post)
    await mirror_latest(bot, interaction.guild, f"post.{post.state}", f"post:{post.id}")
    bot.dispatch("fibrocircle_work")


async def show_decision(interaction: discord.Interaction, post: Post) -> None:
    on_message = interaction.message is not None and not interaction.response.is_done()
    if on_message and interaction.message.id == post.queue_message_id:  # type: ignore[union-attr]
        await interaction.response.edit_message(content=status_line(post), view=None)
        return
    if on_message:  # a /mod queue page or a /mod post reply
        await interaction.response.edit_message(content=status_line(post), view=next_view())
    else:
        await send_ephemeral(interaction, status_line(post))
    await edit_queue_message(interaction.client, post)


def next_view() -> discord.ui.View:
    view = DynamicView()
    view.add_item(QueuePageButton("open", 0, label="Next pending post"))
    return view


class QueueButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                  template=r"fibrocircle:post:(?P<action>approve|reject|block):(?P<id>[0-9]{1,18})"):
    STYLES = {"approve": ("Approve", discord.ButtonStyle.success),
              "reject": ("Reject", discord.ButtonStyle.danger),
              "block": ("Block author", discord.ButtonStyle.secondary)}

    def __init__(self, action: str, post_id: int) -> None:
        label, style = self.STYLES[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"fibrocircle:post:{action}:{post_id}"))
        self.action, self.post_id = action, post_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "QueueButton":
        return cls(match["action"], int(match["id"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        if self.action == "approve":
            await decide_and_show(interaction, self.post_id, approve=True)
        elif self.action == "reject":
            await ask_reason(interaction, self.post_id)
        else:
            await block_author(interaction, self.post_id)


async def ask_reason(interaction: discord.Interaction, post_id: int) -> None:
    await require_moderator(interaction, attempted="reject", post_id=post_id)
    assert interaction.guild is not None
    post = await posts.get_post(interaction.client.db, post_id, guild_id=interaction.guild.id)  # type: ignore[attr-defined]
    if post is None:
        raise UserFacingError("That post does not exist in this server.")
    if post.state != "pending":
        raise UserFacingError(f"{post.label} was already {post.state}.")
    await interaction.response.send_modal(RejectModal(post))


REJECT_FORM = re.compile(r"fibrocircle:reject:(?P<id>[0-9]{1,18})")


class RejectModal(BaseModal):
    def __init__(self, post: Post) -> None:
        super().__init__(title=clip(f"Reject {post.label}", 45), custom_id=f"fibrocircle:reject:{post.id}",
                         timeout=30 * 60)
        self.post_id = post.id
        self.add_item(discord.ui.Label(
            text="Reason (the author will see it)",
            description="Kind and specific helps: what could they change?",
            component=discord.ui.TextInput(custom_id="reason", style=discord.TextStyle.paragraph, min_length=1,
                                           max_length=posts.MAX_REASON_LENGTH, required=True)))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await submit_rejection(interaction, self.post_id)


async def submit_rejection(interaction: discord.Interaction, post_id: int) -> None:
    await decide_and_show(interaction, post_id, approve=False, reason=form_values(interaction).get("reason"))


async def block_author(interaction: discord.Interaction, post_id: int) -> None:
    await require_moderator(interaction, attempted="block author", post_id=post_id)
    assert interaction.guild is not None
    bot = interaction.client
    post, newly = await posts.block_author(bot.db, post_id=post_id, guild_id=interaction.guild.id,  # type: ignore[attr-defined]
                                           moderator_id=interaction.user.id)
    who = "" if post.anonymous else f" (<@{post.author_id}>)"
    if newly:
        text = (f"The author of {post.label}{who} can no longer share posts in this server. The post itself still "
                f"waits for your decision. Undo with `/mod unblock post:{post.number}`.")
        if not post.anonymous:  # the log line names the member: not for an anonymous author
            await mirror_latest(bot, interaction.guild, "member.blocked", f"user:{post.author_id}")
    else:
        text = f"The author of {post.label}{who} was already blocked here. Nothing changed."
    await send_ephemeral(interaction, text)


# -- /mod queue pages -------------------------------------------------------------------------

class QueuePageButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                      template=r"fibrocircle:modqueue:(?P<kind>prev|next|open):(?P<offset>[0-9]{1,6})"):
    def __init__(self, kind: str, offset: int, *, label: str | None = None, disabled: bool = False) -> None:
        label = label or {"prev": "◀ Previous", "next": "Next ▶", "open": "Refresh"}[kind]
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, disabled=disabled,
                                           custom_id=f"fibrocircle:modqueue:{kind}:{offset}"))
        self.offset = offset

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "QueuePageButton":
        return cls(match["kind"], int(match["offset"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_moderator(interaction, attempted="mod queue")
        content, embed, view = await queue_page(interaction, self.offset)
        await interaction.response.edit_message(content=content, embed=embed, view=view)


async def queue_page(interaction: discord.Interaction, offset: int) -> tuple[str, discord.Embed | None, discord.ui.View | None]:
    guild = interaction.guild
    assert guild is not None
    db = interaction.client.db  # type: ignore[attr-defined]
    total = await posts.pending_count(db, guild.id)
    if total == 0:
        return "No posts are waiting for review. Thank you for keeping up!", None, None
    offset = min(max(offset, 0), total - 1)
    found = await posts.pending(db, guild.id, limit=1, offset=offset)
    if not found:  # decided while the page was being built
        return "The queue changed while loading. Press Refresh.", None, next_view()
    post = found[0]
    embed = await queue_embed(post, member_line=await find_member_since(guild, post))
    content = f"Pending post {offset + 1} of {total} (urgent first, then oldest)."
    if post.urgent:
        content += "\n" + status_line(post)
    view = decision_view(post.id)
    view.add_item(QueuePageButton("prev", max(offset - 1, 0), disabled=offset == 0))
    view.add_item(QueuePageButton("next", min(offset + 1, total - 1), disabled=offset >= total - 1))
    view.add_item(QueuePageButton("open", offset))
    return content, embed, view


def history_line(post: Post, event: posts.PostEvent) -> str:
    hidden = post.anonymous and event.actor_id == post.author_id
    who = f" by <@{event.actor_id}>" if event.actor_id and not hidden else ""
    extra = ""
    if event.event in ("publish_failed", "queue_failed"):
        extra = f": {clip(str(event.detail.get('error', '')), 150)}"
    described = {"dm_sent": "author told by DM", "dm_failed": "author's DMs closed: the decision is in their /myposts",
                 "created": "shared", "queue_failed": "not posted to the queue channel yet"
                 }.get(event.event, event.event.replace("_", " "))
    return f"{when(event.created_at, 'f')} · {described}{who}{extra}"


# -- the worker: publishing, telling authors, removing withdrawn text -------------------------

# -- the cog ----------------------------------------------------------------------------------

class Moderation(commands.Cog):
    mod = app_commands.Group(name="mod", description="Review members' posts (moderators)", guild_only=True)

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.worker = PostWorker(bot, send_to_queue=send_to_queue)

    @property
    def db(self) -> Any:
        return self.bot.db  # type: ignore[attr-defined]

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(QueueButton, QueuePageButton)
        self.worker.start()

    async def cog_unload(self) -> None:
        await self.worker.stop()
        self.bot.remove_dynamic_items(QueueButton, QueuePageButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        what = interaction.command.qualified_name if interaction.command else "mod"
        await require_moderator(interaction, attempted=what)
        return True

    @commands.Cog.listener()
    async def on_fibrocircle_work(self) -> None:
        """Something was decided, withdrawn or forgotten: do what follows now, not at the next round."""
        self.worker.wake()

    async def answer_orphan(self, interaction: discord.Interaction) -> bool:
        """A reject form submitted after a restart: the reason the moderator typed is still used."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return False
        match = REJECT_FORM.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return False
        await submit_rejection(interaction, int(match["id"]))
        return True

    @mod.command(name="queue", description="Posts waiting for review, urgent first, one per page")
    async def queue(self, interaction: discord.Interaction) -> None:
        content, embed, view = await queue_page(interaction, 0)
        await send_ephemeral(interaction, content, **({"embed": embed} if embed else {}), **({"view": view} if view else {}))

    @mod.command(name="post", description="One post with its history, by its number")
    @app_commands.describe(id="The post's number, as in “Post #12”")
    async def post(self, interaction: discord.Interaction, id: app_commands.Range[int, 1, 1_000_000_000]) -> None:
        guild = interaction.guild
        assert guild is not None
        post = await posts.get_post_by_number(self.db, guild.id, id)
        if post is None:
            raise UserFacingError(f"There is no Post #{id} in this server.")
        embed = await queue_embed(post, member_line=await find_member_since(guild, post))
        history = "\n".join(history_line(post, e) for e in await posts.post_history(self.db, post.id))
        room = min(FIELD_MAX, EMBED_TOTAL - len(embed) - 20)
        if history and room > 50:
            embed.add_field(name="History", value=clip(history, room), inline=False)
        kwargs: dict[str, Any] = {"embed": embed}
        if post.state == "pending":
            kwargs["view"] = decision_view(post.id)
        await send_ephemeral(interaction, status_line(post) or None, **kwargs)

    @mod.command(name="unblock", description="Let a blocked member share posts again")
    @app_commands.describe(member="The member to unblock",
                           post="Or the number of a post by them, as in “Post #12” (for anonymous authors)")
    async def unblock(self, interaction: discord.Interaction, member: discord.User | None = None,
                      post: app_commands.Range[int, 1, 1_000_000_000] | None = None) -> None:
        guild = interaction.guild
        assert guild is not None
        if (member is None) == (post is None):
            raise UserFacingError("Name either the member or the number of one of their posts. Nothing changed.")
        if member is not None:
            user_id, who, anonymous = member.id, member.mention, False
        else:
            found = await posts.get_post_by_number(self.db, guild.id, post)
            if found is None:
                raise UserFacingError(f"There is no Post #{post} in this server. Nothing changed.")
            user_id, anonymous = found.author_id, found.anonymous
            who = f"The author of {found.label}" if anonymous else f"<@{found.author_id}>"
        if await posts.unblock(self.db, guild.id, user_id, interaction.user.id):
            await send_ephemeral(interaction, f"{who} can share posts in this server again.")
            if not anonymous:
                await mirror_latest(self.bot, guild, "member.unblocked", f"user:{user_id}")
        else:
            await send_ephemeral(interaction, f"{who} was not blocked here. Nothing changed.")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Moderation(bot))
