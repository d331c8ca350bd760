"""The running bot: an `AutoShardedBot` that opens the database, loads the article and every cog.

It runs every shard Discord recommends, or the shards named by `FIBRO_SHARD_COUNT` and
`FIBRO_SHARD_IDS` when several processes share the servers (`own_shards` says which servers are
this process's). Sessions take their identify turns through the database (`bot.shards`), so that
processes sharing it keep to Discord's `max_concurrency` together.

Command sync never happens in `on_ready` (it fires on every reconnect): the command set is hashed
and synced only when it changed since the last sync, or on `fibrocircle sync`.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import os
import pkgutil
import secrets
import socket
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

import cogs
from bot import safety_model
from bot.config import DEFAULT_ARTICLE_PATH, DEFAULT_ARTICLES_DIR, Config
from bot.guild_settings import GuildSettings
from bot.ingest import load_folder, load_seed_if_empty
from bot.limits import Limits
from bot.shards import IDENTIFY_INTERVAL, OwnShards, reserve_identify
from bot.storage import Database, open_database
from bot.topics import retag_all_if_taxonomy_changed

log = logging.getLogger("fibrocircle")

EMULATOR_IDENTIFY_INTERVAL = 0.2


def use_local_discord(root_url: str) -> tuple[str, object]:
    """Point discord.py at a Discord emulator on this machine (REST, interaction callbacks and the
    gateway). Returns the previous values so that a caller can put them back."""
    import yarl

    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = f"{root_url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(root_url.replace("http://", "ws://", 1) + "/gateway")
    return previous


def extension_names() -> list[str]:
    """Every feature in cogs/, a module or a package (`cogs/utils/` holds shared helpers, not an extension)."""
    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__)
                  if m.name != "utils" and not m.name.startswith("_"))


async def prepare_database(db: Database, article_path: Path, articles_folder: Path) -> None:
    """What the bot needs in a migrated database before serving, each step only when it is still to
    do: the article and the library loaded, topic tags made with the current topic list."""
    report = await load_seed_if_empty(db, article_path)
    if report is not None:
        log.info("loaded %s: %d paragraphs, %d comments", report.source, report.paragraphs, report.comments)
    for report in await load_folder(db, articles_folder):
        if report.loaded:
            log.info("loaded %s into the library: %d paragraphs, %d comments",
                     report.source, report.paragraphs, report.comments)
    if await retag_all_if_taxonomy_changed(db):  # the topic list changed since the tags were made
        log.info("topic tags recomputed for the new topic list")


class NoPayloads(logging.Filter):
    """discord.py logs whole gateway events and request bodies at DEBUG level: members' posts, names
    and ids. Those records are dropped, at every log level the host chooses."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def hide_discord_payloads() -> None:
    """Put `NoPayloads` on every discord.py logger (a logger's filter sees only its own records)."""
    names = [name for name in logging.root.manager.loggerDict if name == "discord" or name.startswith("discord.")]
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoPayloads) for f in logger.filters):
            logger.addFilter(NoPayloads())


class FibroTree(app_commands.CommandTree):
    """The command tree; its `on_error` is the one place errors become replies."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        from cogs.utils.replies import report_error  # the shared Discord helpers live with the cogs

        await report_error(interaction, error)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Options are held to each command's own definition before it runs (a bad one is an
        AppCommandError, so it reaches `on_error` and the member is told what to change)."""
        from cogs.utils.checks import check_options

        check_options(interaction)  # type: ignore[arg-type]
        return True


class LoopLagProbe:
    """Measures how late the event loop wakes up: a long stall means something slow ran on it,
    and every member waiting for an answer waited that long too."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.longest = 0.0
        self.samples = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop-lag-probe")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.longest = max(self.longest, loop.time() - before - self.interval)
            self.samples += 1

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class FibroCircle(commands.AutoShardedBot):
    def __init__(self, config: Config, *, article_path: Path = DEFAULT_ARTICLE_PATH,
                 articles_folder: Path = DEFAULT_ARTICLES_DIR,
                 guild_ready_timeout: float = 2.0, sync_commands: bool = True,
                 identify_interval: float | None = None):
        super().__init__(
            shard_count=config.shard_count,
            shard_ids=list(config.shard_ids) if config.shard_ids is not None else None,
            command_prefix=commands.when_mentioned,  # slash commands only; no message content needed
            intents=discord.Intents.default(),
            # Member-written text is quoted back: no message the bot sends may ever ping anyone.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=FibroTree,
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
        )
        hide_discord_payloads()
        self.limits = Limits()  # per-member limits on asking, pressing and log-channel mirrors
        self.config = config
        self.article_path = article_path
        self.articles_folder = articles_folder
        self.sync_commands = sync_commands
        self.db = open_database(config.database)
        # The one per-server settings object every cog reads (cached, invalidated on write).
        self.guild_settings = GuildSettings(self.db)
        if config.emulator_url:
            use_local_discord(config.emulator_url)
        self.synced_now = False
        self.loop_probe = LoopLagProbe()
        # Discord's 5 seconds between identifies of a bucket; the emulator has no such limit, and
        # a short gap still keeps the turns in order.
        # Names this process on the jobs it leases (publishing, decision DMs).
        self.lease_owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.identify_interval = identify_interval if identify_interval is not None else (
            EMULATOR_IDENTIFY_INTERVAL if config.emulator_url else IDENTIFY_INTERVAL)
        self._max_concurrency: int | None = None

    async def setup_hook(self) -> None:
        # The safety models' table takes a moment to read: before the first post, not during it.
        await asyncio.to_thread(safety_model.load_model)
        await self.db.open()  # migrations: each applied once, whichever process comes first
        # The one-off start-up work runs in one process at a time: the next finds it done.
        async with self.db.exclusive("start-up"):
            await prepare_database(self.db, self.article_path, self.articles_folder)
            for name in extension_names():
                await self.load_extension(name)
            if self.sync_commands:
                await self.sync_if_changed()

    # -- command sync -------------------------------------------------------------
    def command_payload(self) -> list[dict]:
        """Exactly what `tree.sync()` sends, for hashing and for `fibrocircle check`."""
        return [c.to_dict(self.tree) for c in self.tree.get_commands()]

    def _sync_scope(self) -> tuple[str, discord.Object | None]:
        guild_id = self.config.dev_guild_id
        return (f"guild:{guild_id}" if guild_id else "global"), (discord.Object(guild_id) if guild_id else None)

    def command_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.command_payload(), sort_keys=True).encode()).hexdigest()

    async def sync_if_changed(self, *, force: bool = False) -> bool:
        scope, guild = self._sync_scope()
        key = f"command_hash:{scope}"
        current = self.command_hash()
        if not force and await self.db.get_meta(key) == current:
            return False
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)
        await self.db.set_meta(key, current)
        self.synced_now = True
        log.info("synced %d commands (%s)", len(self.command_payload()), scope)
        return True

    # -- shards -------------------------------------------------------------------
    def own_shards(self) -> OwnShards:
        """The shards this process runs (all of them until the shard count is known)."""
        return OwnShards.of(self.shard_count, self.shard_ids)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's identify turn: one session per `max_concurrency` bucket every 5
        seconds, counted in the database so that every process sharing it keeps to it."""
        if self._max_concurrency is None:
            try:
                _, _, limits = await self.http.get_bot_gateway()
                self._max_concurrency = max(1, int(limits.get("max_concurrency", 1)))
            except (discord.HTTPException, discord.GatewayNotFound, KeyError, TypeError, ValueError):
                self._max_concurrency = 1
        bucket = (shard_id or 0) % self._max_concurrency
        delay = await reserve_identify(self.db, bucket, self.identify_interval)
        if delay > 0:
            log.info("shard %s waits %.1f s for its identify turn (bucket %d)", shard_id, delay, bucket)
            await asyncio.sleep(delay)

    async def on_ready(self) -> None:
        # Start-up objects (the taxonomy, caches, discord.py's state) live as long as the process:
        # freezing them keeps the garbage collector from walking them again on every full pass.
        gc.freeze()
        # Stalls are measured while serving, not during start-up work.
        self.loop_probe.start()

    async def close(self) -> None:
        self.loop_probe.stop()
        if self.loop_probe.samples:
            log.info("event loop: longest stall %.1f ms over %d samples",
                     self.loop_probe.longest * 1000, self.loop_probe.samples)
        try:
            await super().close()
        finally:
            await self.db.close()
