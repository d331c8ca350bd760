"""The moderation queue: posting a new post to the queue channel, its Approve, Reject and Block
author buttons (answered from their custom_id, so they work after a restart), the decisions they
make, and /mod queue's pages."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import discord

from bot import posts, safety
from bot.errors import StorageUnavailable, UserFacingError
from bot.guild_settings import GuildConfig
from bot.posts import Post, PostState
from cogs.moderation.render import http_problem, member_since, queue_embed, status_line
from cogs.utils.checks import missing_permissions, require_moderator
from cogs.utils.context import Interaction
from cogs.utils.formats import clip
from cogs.utils.logchannel import mirror_to_log
from cogs.utils.replies import BaseModal, DynamicView, SafeDynamicItem, form_values, send_ephemeral

if TYPE_CHECKING:
    from bot.app import FibroCircle

log = logging.getLogger("fibrocircle.moderation")


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


def decision_view(post_id: int) -> discord.ui.View:
    view = DynamicView()  # DynamicItems: they work after a restart too
    for action in ("approve", "reject", "block"):
        view.add_item(QueueButton(action, post_id))
    return view


async def edit_queue_message(bot: FibroCircle, post: Post) -> None:
    """Show the post's state on its queue message, with the buttons while it is still pending."""
    await show_status(bot, post, view=decision_view(post.id) if post.state == PostState.PENDING else None)


async def send_to_queue(bot: FibroCircle, guild: discord.Guild, post: Post, *, retry_in: float | None, member: Any = None,
                        scan: safety.SafetyScan | None = None, config: GuildConfig | None = None) -> bool:
    """Post a pending post to the queue channel (urgent ones with an alert line): right after /share,
    and from the worker for a post that never got there. Returns whether this call put it there.

    Without a queue channel the post waits in /mod queue. A failure (deleted channel, missing
    permission, 5xx, 429) is recorded and the worker tries again with growing pauses. The first time
    an urgent post cannot be put in the queue channel, the log channel is alerted instead.
    """
    config = config or await bot.guild_settings.get(guild.id)
    if config.queue_channel is None:
        if post.alerts_moderators and post.queue_attempts == 0:
            await alert_log_channel(guild, config, post)
        return False
    channel = guild.get_channel(config.queue_channel)
    problem, message = None, None
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
        if post.alerts_moderators and post.queue_attempts == 0:
            await alert_log_channel(guild, config, post)
        with contextlib.suppress(StorageUnavailable):  # unrecorded, the worker still finds it to try again
            await posts.mark_queue_failed(bot.db, post.id, problem or "unknown error", retry_in)
        return False
    try:
        recorded = await posts.set_queue_message(bot.db, post.id, channel.id, message.id)
    except StorageUnavailable:
        # A queue message the bot cannot find again could not be deleted on withdraw: it goes now,
        # and the worker posts the post again once the database can be written.
        log.warning("guild %s: %s was put in the queue channel but could not be recorded; removed", guild.id, post.label)
        with contextlib.suppress(discord.HTTPException):
            await message.delete()
        return False
    if not recorded:
        # Another embed of this post got there first, or it was withdrawn meanwhile: this one goes.
        bot.dispatch("fibrocircle_work")
        return False
    fresh = await posts.get_post(bot.db, post.id)
    if fresh is not None and fresh.state != PostState.PENDING:  # decided from /mod queue while this was sent
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


def bot_worker(bot: FibroCircle) -> Any:
    cog = bot.get_cog("Moderation")
    return None if cog is None else cog.worker


async def decide_and_show(interaction: Interaction, post_id: int, *, approve: bool,
                          reason: str | None = None) -> None:
    """Approve or reject, committed first; then the message is updated and the worker woken."""
    attempted = "approve" if approve else "reject"
    config = await require_moderator(interaction, attempted=attempted, post_id=post_id)
    assert interaction.guild is not None
    bot = interaction.client
    decision = await posts.decide(bot.db, post_id=post_id, guild_id=interaction.guild.id,
                                  moderator_id=interaction.user.id, approve=approve, reason=reason)
    post = decision.post
    worker = bot_worker(bot)
    if worker is not None and approve:
        worker.deciders[post.id] = (interaction, time.monotonic())  # told if publishing fails
    await show_decision(interaction, post)
    await mirror_to_log(bot, interaction.guild, [decision.audit], config=config)
    bot.dispatch("fibrocircle_work")


async def show_decision(interaction: Interaction, post: Post) -> None:
    on_message = interaction.message is not None and not interaction.response.is_done()
    if on_message and interaction.message.id == post.queue_message_id:  # type: ignore[union-attr]
        await interaction.response.edit_message(content=status_line(post), view=None)
        return
    if on_message:  # a /mod queue page or a /mod post reply
        await interaction.response.edit_message(content=status_line(post), view=next_view())
    else:
        # The reject form's answer: it leads on to the next pending post as Approve does.
        await send_ephemeral(interaction, status_line(post), view=next_view())
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
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "QueueButton":
        return cls(match["action"], int(match["id"]))

    async def handle(self, interaction: Interaction) -> None:
        if self.action == "approve":
            await decide_and_show(interaction, self.post_id, approve=True)
        elif self.action == "reject":
            await ask_reason(interaction, self.post_id)
        else:
            await block_author(interaction, self.post_id)


async def ask_reason(interaction: Interaction, post_id: int) -> None:
    await require_moderator(interaction, attempted="reject", post_id=post_id)
    assert interaction.guild is not None
    post = await posts.get_post(interaction.client.db, post_id, guild_id=interaction.guild.id)
    if post is None:
        raise UserFacingError("That post does not exist in this server.")
    if post.state != PostState.PENDING:
        raise UserFacingError(f"{post.label} was already {post.state}.")
    await interaction.response.send_modal(RejectModal(post))


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

    async def on_submit(self, interaction: Interaction) -> None:
        await submit_rejection(interaction, self.post_id)


async def submit_rejection(interaction: Interaction, post_id: int) -> None:
    await decide_and_show(interaction, post_id, approve=False, reason=form_values(interaction).get("reason"))


async def block_author(interaction: Interaction, post_id: int) -> None:
    config = await require_moderator(interaction, attempted="block author", post_id=post_id)
    assert interaction.guild is not None
    bot = interaction.client
    post, entry = await posts.block_author(bot.db, post_id=post_id, guild_id=interaction.guild.id,
                                           moderator_id=interaction.user.id)
    # An anonymous author is blocked by the post's number: the answer and the log line say nothing about
    # who they are or whether they were blocked some other way.
    who = "" if post.anonymous else f" (<@{post.author_id}>)"
    if entry is not None:
        where = ("The post itself still waits for your decision." if post.state == PostState.PENDING
                 else f"The post itself was already {post.state}.")
        text = (f"The author of {post.label}{who} can no longer share posts in this server. {where} "
                f"Undo with `/mod unblock post:{post.number}`.")
    elif post.anonymous:
        text = f"A block was already made from {post.label}. Nothing changed."
    else:
        text = f"The author of {post.label}{who} was already blocked by name here. Nothing changed."
    await send_ephemeral(interaction, text)  # first: the log channel may have to wait its turn
    await mirror_to_log(bot, interaction.guild, [entry], config=config)


class QueuePageButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                      template=r"fibrocircle:modqueue:(?P<kind>prev|next|open):(?P<offset>[0-9]{1,6})"):
    def __init__(self, kind: str, offset: int, *, label: str | None = None, disabled: bool = False) -> None:
        label = label or {"prev": "◀ Previous", "next": "Next ▶", "open": "Refresh"}[kind]
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, disabled=disabled,
                                           custom_id=f"fibrocircle:modqueue:{kind}:{offset}"))
        self.offset = offset

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "QueuePageButton":
        return cls(match["kind"], int(match["offset"]))

    async def handle(self, interaction: Interaction) -> None:
        await require_moderator(interaction, attempted="mod queue")
        content, embed, view = await queue_page(interaction, self.offset)
        await interaction.response.edit_message(content=content, embed=embed, view=view)


async def queue_page(interaction: Interaction, offset: int) -> tuple[str, discord.Embed | None, discord.ui.View | None]:
    guild = interaction.guild
    assert guild is not None
    db = interaction.client.db
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


async def show_status(bot: FibroCircle, post: Post, *, view: discord.ui.View | None = None) -> None:
    """Show the post's state on its queue message (if it has one). Never raises: the state is saved."""
    if post.queue_channel_id is None or post.queue_message_id is None:
        return
    channel = bot.get_partial_messageable(post.queue_channel_id, guild_id=post.guild_id)
    try:
        await channel.get_partial_message(post.queue_message_id).edit(content=status_line(post) or None, view=view)
    except discord.HTTPException as error:
        log.warning("guild %s: could not update the queue message of post %s: %s", post.guild_id, post.id, error)
