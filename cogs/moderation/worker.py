"""What follows a moderator's decision, done in the background, and how a post looks in Discord.

`PostWorker` is one task (started and stopped by the moderation cog) that does what the database
says is still to do, so that a restart or a Discord outage only delays it:
- post pending posts that never reached the queue channel (`posts_to_queue`): posting there
  failed, the bot stopped between saving a post and posting it, or the channel was chosen later;
  recorded exactly once (`set_queue_message`), failures retried with growing pauses;
- publish approved posts in the posts channel (`posts_to_publish`, `mark_published`,
  `mark_publish_failed`); a failure (deleted channel, missing permission, 5xx, 429) keeps the post
  approved and unpublished, is shown on the queue message and to the moderator who approved, and is
  retried with growing pauses;
- tell authors of decisions by DM (`decisions_to_notify`, `mark_author_notified`,
  `mark_notify_failed`), under a lease in the database like publishing; closed DMs are recorded,
  and /myposts shows the decision;
- delete messages that still show withdrawn or forgotten text (`messages_to_remove`), giving up on
  one Discord has refused for a week (the member is told where it is, in /myposts and /mydata);
- forget /quote history older than a few weeks (`quotes.prune_history`), the data of servers the
  bot left more than 30 days ago and audit rows older than a year (`privacy.run_retention`), as
  /privacy says. Its clock (`clock`) is the one the removal of a server is dated with, so that a
  test can move it forward instead of waiting.

Each process takes only the jobs of its own shards' servers (`FibroCircle.own_shards`), so that
with several processes every job is done by the one connected to its server.

It is a module of the moderation package, not of the extension's `__init__`, because discord.py
executes an extension's own file afresh on every load: a class here is the same object for the bot
and for tests, which lower its pace (`interval`, `retry_seconds`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

import discord

from bot import posts, privacy, quotes
from bot.errors import StorageUnavailable
from bot.posts import Post, PostState, PublishState
from cogs.moderation.queue import send_to_queue, show_status
from cogs.moderation.render import http_problem, published_embeds
from cogs.utils.checks import missing_permissions
from cogs.utils.context import Interaction
from cogs.utils.formats import CONTENT_MAX, clip, when
from cogs.utils.replies import reply

if TYPE_CHECKING:
    from bot.app import FibroCircle

log = logging.getLogger("fibrocircle.moderation")

# An interaction token lasts 15 minutes; past this, a moderator is not followed up on it.
TOKEN_LIFETIME = 14 * 60


async def open_dm(bot: FibroCircle, user_id: int) -> discord.PartialMessageable:
    """The DM channel with a member. The id is sent as text, the form in Discord's API description
    (discord.py's `create_dm` sends a number, which Discord accepts but the description does not)."""
    data = await bot.http.request(discord.http.Route("POST", "/users/@me/channels"), json={"recipient_id": str(user_id)})
    return bot.get_partial_messageable(int(data["id"]), type=discord.ChannelType.private)


class PostWorker:
    """One background task that does what the database says is still to do. Class attributes are
    the pacing; tests lower them."""

    interval = 15.0                   # seconds between rounds when nothing wakes it sooner
    retry_seconds: float | None = None  # None: the core's growing pauses (30 s, 1 min, ... 1 hour)
    dm_retry_seconds = 60.0           # a DM that failed for a reason other than closed DMs
    prune_every = 6 * 3600.0          # forgetting old /quote history, departed servers and old audit rows

    def __init__(self, bot: FibroCircle) -> None:
        self.bot = bot
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.deciders: dict[int, tuple[Interaction, float]] = {}
        self._pruned_at: datetime | None = None
        # What time it is for the retention job and for dating a server's removal (tests move it).
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fibrocircle-post-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except StorageUnavailable:  # a full or read-only disk: nothing was changed; the next round tries again
                log.warning("the post worker's round waits: the database can't be written")
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("the post worker's round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    async def run_once(self) -> None:
        db = self.bot.db
        # Only this process's servers: another process runs the other shards and their jobs.
        shards = self.bot.own_shards()
        for post in await posts.posts_to_queue(db, shards=shards):
            await self.queue(post)
        owner = self.bot.lease_owner
        for post in await posts.posts_to_publish(db, shards=shards, owner=owner):
            await self.publish(post)
        for post in await posts.decisions_to_notify(db, limit=100, shards=shards, owner=owner):
            await self.notify(post)
        now = self.clock()
        for stale in await posts.messages_to_remove(db, now, shards=shards):
            await self.remove(stale)
        if self._pruned_at is None or (now - self._pruned_at).total_seconds() >= self.prune_every:
            self._pruned_at = now
            # Departed servers and audit rows: each process those of its own shards.
            done = await privacy.run_retention(db, now=now, shards=shards)
            for guild_id in done.guilds_forgotten:
                self.bot.guild_settings.invalidate(guild_id)
                log.info("guild %s: its data is deleted, %d days after the bot left",
                         guild_id, privacy.GUILD_GRACE.days)
            if done.audit_rows_pruned:
                log.info("%d audit rows older than %d days deleted", done.audit_rows_pruned,
                         privacy.AUDIT_RETENTION.days)
            # Forgetting old /quote history concerns every server: shard 0's process does it.
            if 0 in shards.ids:
                await quotes.prune_history(db)

    async def queue(self, post: Post) -> None:
        """A pending post that never reached the queue channel: put it there now."""
        guild = self.bot.get_guild(post.guild_id)
        config = await self.bot.guild_settings.get(post.guild_id)
        problem = None
        if guild is None:
            problem = "I'm not connected to that server right now."
        elif config.queue_channel is None:
            problem = "No queue channel is set: an admin can choose one with /config channel kind:queue."
        if problem is not None:
            await posts.mark_queue_failed(self.bot.db, post.id, problem, self.retry_seconds)
            return
        await send_to_queue(self.bot, guild, post, retry_in=self.retry_seconds, config=config)

    async def publish(self, post: Post) -> None:
        guild = self.bot.get_guild(post.guild_id)
        config = await self.bot.guild_settings.get(post.guild_id)
        problem, channel = None, None
        if guild is None:
            problem = "I'm not connected to that server right now."
        elif config.posts_channel is None:
            problem = "No posts channel is set: an admin can choose one with /config channel kind:posts."
        else:
            channel = guild.get_channel(config.posts_channel)
            if not isinstance(channel, discord.TextChannel):
                problem = "The posts channel no longer exists: an admin can choose another with /config channel kind:posts."
            elif missing_permissions(channel):
                problem = f"I'm missing {', '.join(missing_permissions(channel))} in {channel.mention}."
        retry_in = self.retry_seconds
        message = None
        if problem is None:
            try:
                # A fixed nonce: after a crash or a lost answer, sending again returns the same message.
                message = await channel.send(embeds=published_embeds(post),  # type: ignore[union-attr]
                                             nonce=posts.publish_nonce(post))
            except discord.HTTPException as error:
                problem = http_problem(error, channel.mention)  # type: ignore[union-attr]
                retry_in = getattr(error, "retry_after", None) or retry_in
        if message is not None:
            published = await posts.mark_published(self.bot.db, post.id, message.id, channel_id=message.channel.id)
            if published is not None:
                self.deciders.pop(post.id, None)
                await show_status(self.bot, published)
            return
        log.info("guild %s: publishing %s failed: %s", post.guild_id, post.label, problem)
        failed = await posts.mark_publish_failed(self.bot.db, post.id, problem or "unknown", retry_in,
                                                 owner=self.bot.lease_owner)
        if failed is None:
            return
        await show_status(self.bot, failed)
        decider = self.deciders.pop(post.id, None)
        if decider is not None and time.monotonic() - decider[1] < TOKEN_LIFETIME:
            try:
                await reply(
                    decider[0], f"{post.label} is approved and saved, but it is not published yet: {problem} "
                    f"I'll try again {when(failed.publish_next_at)}; nothing is lost.", ephemeral=True)
            except discord.HTTPException:
                log.info("could not tell the moderator that %s is not published yet", post.label)

    async def notify(self, post: Post) -> None:
        """Tell the author of a decision by DM; closed DMs are recorded (the decision is in /myposts)."""
        config = await self.bot.guild_settings.get(post.guild_id)
        guild = self.bot.get_guild(post.guild_id)
        where = f"**{guild.name}**" if guild is not None else "a server you're in"
        by = "" if config.decisions_anonymous or not post.decided_by else f" by <@{post.decided_by}>"
        if post.state == PostState.APPROVED:
            if post.publish_state == PublishState.PUBLISHED:
                shown = f"It's now in <#{post.published_channel_id}>."
            else:
                shown = "It will appear in the server's posts channel shortly."
            text = (f"Good news: your post ({post.label}) in {where} was approved{by}. {shown} Members there may "
                    "also come across it with /quote. You can withdraw it at any time with /myposts in that server.")
        else:
            text = (f"Your post ({post.label}) in {where} was not approved{by}.\n"
                    f"The moderators' reason: {clip(post.reason or 'none given', 1200)}\n"
                    "You can see it with /myposts in that server, and withdraw it there to delete its text.")
        try:
            channel = await open_dm(self.bot, post.author_id)
            await channel.send(clip(text, CONTENT_MAX), nonce=posts.notify_nonce(post))
        except (discord.Forbidden, discord.NotFound) as error:
            log.info("post %s: the author's DMs are closed (%s)", post.id, error.status)
            await posts.mark_author_notified(self.bot.db, post.id, False)
            return
        except discord.HTTPException as error:
            if 400 <= error.status < 500 and error.status != 429:
                await posts.mark_author_notified(self.bot.db, post.id, False)
                return
            log.info("post %s: DM failed with %s; trying again later", post.id, error.status)
            await posts.mark_notify_failed(self.bot.db, post.id, self.dm_retry_seconds, owner=self.bot.lease_owner)
            return
        await posts.mark_author_notified(self.bot.db, post.id, True)

    async def remove(self, stale: posts.StaleMessage) -> None:
        channel = self.bot.get_partial_messageable(stale.channel_id, guild_id=stale.guild_id)
        try:
            await channel.get_partial_message(stale.message_id).delete()
        except discord.NotFound:
            pass  # already gone: that is what was wanted
        except discord.HTTPException as error:
            if await posts.mark_message_removal_failed(self.bot.db, stale.id, http_problem(error, "that channel"),
                                                       getattr(error, "retry_after", None) or self.retry_seconds,
                                                       now=self.clock()):
                log.info("guild %s: gave up deleting a message in channel %s (%s)", stale.guild_id,
                         stale.channel_id, error.status)
            return
        await posts.mark_message_removed(self.bot.db, stale.id, now=self.clock())
