"""The Moderation cog: /mod queue, /mod post, /mod unblock, the post worker's start and stop, and
noting when the bot leaves or rejoins a server (its data is deleted by the worker 30 days after it
left, unless the bot is added back first)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import posts, privacy, safety
from bot.errors import UserFacingError
from bot.guild_settings import GuildConfig
from bot.posts import Post, PostState
from cogs.moderation.queue import (
    QueueButton,
    QueuePageButton,
    decision_view,
    find_member_since,
    queue_page,
    send_to_queue,
    submit_rejection,
)
from cogs.moderation.render import history_line, queue_embed, status_line
from cogs.moderation.worker import PostWorker
from cogs.utils.checks import require_moderator
from cogs.utils.context import Interaction, guild_config
from cogs.utils.formats import EMBED_TOTAL, FIELD_MAX, clip
from cogs.utils.logchannel import mirror_to_log
from cogs.utils.replies import send_ephemeral

if TYPE_CHECKING:
    from bot.app import FibroCircle

log = logging.getLogger("fibrocircle.moderation")


# A reject form that arrives after a restart, when discord.py no longer knows it.
REJECT_FORM = re.compile(r"fibrocircle:reject:(?P<id>[0-9]{1,18})")


class Moderation(commands.Cog):
    mod = app_commands.Group(name="mod", description="Review members' posts (moderators)", guild_only=True)

    def __init__(self, bot: FibroCircle) -> None:
        self.bot = bot
        self.worker = PostWorker(bot)

    @property
    def db(self) -> Any:
        return self.bot.db

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(QueueButton, QueuePageButton)
        self.worker.start()

    async def cog_unload(self) -> None:
        await self.worker.stop()
        self.bot.remove_dynamic_items(QueueButton, QueuePageButton)

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        what = interaction.command.qualified_name if interaction.command else "mod"
        await require_moderator(interaction, attempted=what)
        return True

    @commands.Cog.listener()
    async def on_fibrocircle_work(self) -> None:
        """Something was decided, withdrawn or forgotten: do what follows now, not at the next round."""
        self.worker.wake()

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a server (kicked, banned, or the server deleted): its data is
        deleted after the grace period unless the bot is added back."""
        await privacy.guild_left(self.db, guild.id, now=self.worker.clock())
        log.info("guild %s: the bot was removed; its data is deleted in %d days unless it is added back",
                 guild.id, privacy.GUILD_GRACE.days)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if await privacy.guild_back(self.db, guild.id):
            log.info("guild %s: the bot is back; nothing of the server is deleted", guild.id)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.on_guild_join(guild)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """A server that removed the bot while it was not running sends no event: any server of this
        process's shards that the bot keeps data about but is not in counts as left from now."""
        shards = self.bot.own_shards()
        present = {guild.id for guild in self.bot.guilds}
        try:
            for guild_id in sorted(await privacy.guilds_with_data(self.db, shards) - present):
                if shards.owns(guild_id):
                    await privacy.guild_left(self.db, guild_id, now=self.worker.clock())
        except Exception:
            if self.bot.is_closed():
                return  # stopped while starting: the next start does it
            raise

    @commands.Cog.listener()
    async def on_fibrocircle_post_shared(self, guild: discord.Guild, post: Post, member: Any,
                                         scan: safety.SafetyScan, config: GuildConfig) -> None:
        """A member shared a post (the posts cog dispatches this once it is committed): put it in the
        queue channel now (with the server's settings the share read); the worker tries again later if
        that fails."""
        await send_to_queue(self.bot, guild, post, retry_in=self.worker.retry_seconds, member=member, scan=scan,
                            config=config)

    async def answer_orphan(self, interaction: Interaction) -> bool:
        """A reject form submitted after a restart: the reason the moderator typed is still used."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return False
        match = REJECT_FORM.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return False
        await submit_rejection(interaction, int(match["id"]))
        return True

    @mod.command(name="queue", description="Posts waiting for review, urgent first, one per page")
    async def queue(self, interaction: Interaction) -> None:
        content, embed, view = await queue_page(interaction, 0)
        await send_ephemeral(interaction, content, **({"embed": embed} if embed else {}), **({"view": view} if view else {}))

    @mod.command(name="post", description="One post with its history, by its number")
    @app_commands.describe(id="The post's number, as in “Post #12”")
    async def post(self, interaction: Interaction, id: app_commands.Range[int, 1, 1_000_000_000]) -> None:
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
        if post.state == PostState.PENDING:
            kwargs["view"] = decision_view(post.id)
        await send_ephemeral(interaction, status_line(post) or None, **kwargs)

    @mod.command(name="unblock", description="Let a blocked member share posts again")
    @app_commands.describe(member="The member to unblock",
                           post="Or the number of a post by them, as in “Post #12” (for anonymous authors)")
    async def unblock(self, interaction: Interaction, member: discord.User | None = None,
                      post: app_commands.Range[int, 1, 1_000_000_000] | None = None) -> None:
        guild = interaction.guild
        assert guild is not None
        if (member is None) == (post is None):
            raise UserFacingError("Name either the member or the number of one of their posts. Nothing changed.")
        if member is not None:
            # By name only: the answer is the same whether or not this member wrote an anonymous post
            # that was used to block its author.
            if entry := await posts.unblock(self.db, guild.id, member.id, interaction.user.id):
                await send_ephemeral(interaction, f"The block on {member.mention} by name is lifted. "
                                                  "Blocks made from anonymous posts are lifted with `post:`.")
                await mirror_to_log(self.bot, guild, [entry], config=await guild_config(interaction))
            else:
                await send_ephemeral(interaction, f"{member.mention} has no block by name here. Nothing changed. "
                                                  "Blocks made from anonymous posts are lifted with `post:`.")
            return
        found = await posts.get_post_by_number(self.db, guild.id, post)
        if found is None:
            raise UserFacingError(f"There is no Post #{post} in this server. Nothing changed.")
        who = "its author" if found.anonymous else f"<@{found.author_id}>"
        if entry := await posts.unblock_post(self.db, found, interaction.user.id):
            await send_ephemeral(interaction, f"The block made from {found.label} on {who} is lifted.")
            await mirror_to_log(self.bot, guild, [entry], config=await guild_config(interaction))
        else:
            await send_ephemeral(interaction, f"No block was made from {found.label} on {who}. Nothing changed.")
