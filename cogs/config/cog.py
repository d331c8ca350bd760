"""The /config cog: its commands, and what it does when channels or roles are deleted or the bot
joins a server."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any, Iterable, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import audit, library
from bot.audit import AuditEntry
from bot.errors import UserFacingError
from bot.guild_settings import (
    MAX_IMPORT_BYTES,
    NOTHING_CHANGED,
    SETTINGS,
    SettingChange,
    admin_settings,
    lookup,
    read_settings_file,
    setup_gaps,
    value_text,
)
from cogs.config.articles import (
    UploadedArticleButton,
    library_embed,
    preview_embed,
    preview_view,
)
from cogs.config.channels import (
    CHANNEL_KINDS,
    TextChannelOption,
    check_channel,
    check_moderator_role,
    forgotten_notes,
    privacy_warning,
    server_problems,
)
from cogs.config.replies import change_line, reply_for, show_embed
from cogs.config.transfer import check_usable_here, match_by_name
from cogs.config.wizard import (
    OpenSetupButton,
    WizardChannelPick,
    WizardCreateChannels,
    WizardCreateRole,
    WizardDone,
    WizardRolePick,
    needs_setup,
    send_wizard,
    wizard_embed,
    wizard_view,
)
from cogs.utils.checks import has_manage_server, missing_permissions, require_manage_server
from cogs.utils.context import Interaction, guild_config
from cogs.utils.formats import CONTENT_MAX, brand_embed, clip
from cogs.utils.logchannel import mirror_to_log
from cogs.utils.replies import BaseModal, DynamicView, defer, reply, send_ephemeral

if TYPE_CHECKING:
    from bot.app import FibroCircle

log = logging.getLogger("fibrocircle.admin")


# -- the crisis-resources modal, for text with line breaks --------------------------------------

class CrisisResourcesModal(BaseModal, title="Crisis resources text"):
    def __init__(self, cog: "Admin", current: str) -> None:
        super().__init__(timeout=15 * 60)
        self.cog = cog
        self.text = discord.ui.TextInput(
            custom_id="crisis_resources", style=discord.TextStyle.paragraph, default=current,
            max_length=SETTINGS["crisis_resources"].max_length, required=True)
        self.add_item(discord.ui.Label(text="Shown at once to a member in crisis", component=self.text))

    async def on_submit(self, interaction: Interaction) -> None:
        await self.cog.set_and_reply(interaction, {"crisis_resources": self.text.value})


class Admin(commands.Cog):
    config = app_commands.Group(
        name="config", description="See and change how Fibro Circle works in this server (Manage Server)",
        guild_only=True, default_permissions=discord.Permissions(manage_guild=True))
    article = app_commands.Group(name="article", description="Add an article of your own to this server",
                                 parent=config)

    def __init__(self, bot: FibroCircle) -> None:
        self.bot = bot
        self.settings = bot.guild_settings

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(WizardChannelPick, WizardRolePick, WizardCreateChannels, WizardCreateRole,
                                   WizardDone, OpenSetupButton, UploadedArticleButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(WizardChannelPick, WizardRolePick, WizardCreateChannels, WizardCreateRole,
                                      WizardDone, OpenSetupButton, UploadedArticleButton)

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        await require_manage_server(interaction)
        return True

    async def set_and_reply(self, interaction: Interaction, values: dict[str, Any],
                            notes: Iterable[str | None] = ()) -> None:
        """The one path every setting command takes: validate and save (all or nothing), reply, mirror."""
        assert interaction.guild is not None
        changes = await self.settings.set_many(interaction.guild.id, values, actor_id=interaction.user.id)
        by_name = {c.name: c for c in changes}
        config = await guild_config(interaction, reread=bool(changes))
        shown = [by_name.get(n) or SettingChange(n, getattr(config, n), getattr(config, n)) for n in values]
        await send_ephemeral(interaction, reply_for(shown, [n for n in notes if n]))
        await mirror_to_log(self.bot, interaction.guild, [c.audit for c in changes], config=config)
        if {"queue_channel", "posts_channel"} & set(by_name):
            # Posts waiting for a queue or posts channel can go out now, not at the worker's next round.
            self.bot.dispatch("fibrocircle_work")

    # -- commands -------------------------------------------------------------------------------
    @config.command(name="show", description="Every setting, whether it is the default, and what needs attention")
    async def show(self, interaction: Interaction) -> None:
        assert interaction.guild is not None
        config = await guild_config(interaction)
        problems = (await forgotten_notes(self.bot, config) + server_problems(interaction.guild, config)
                    + setup_gaps(config))
        await send_ephemeral(interaction, embed=show_embed(interaction.guild, config, problems))

    @config.command(name="channel", description="Choose where posts are published, reviewed, or logged")
    @app_commands.describe(kind="posts: published posts · queue: moderators review · log: audit log",
                           channel="A text channel where Fibro Circle can send messages and embeds")
    async def channel(self, interaction: Interaction, kind: Literal["posts", "queue", "log"],
                      channel: app_commands.Transform[discord.TextChannel, TextChannelOption]) -> None:
        name = CHANNEL_KINDS[kind]
        chosen = check_channel(name, channel)
        await self.set_and_reply(interaction, {name: chosen.id}, [privacy_warning(name, chosen)])

    @config.command(name="moderator-role", description="The role whose members review posts")
    @app_commands.describe(role="Members with this role can review posts (Manage Server always can)")
    async def moderator_role(self, interaction: Interaction, role: discord.Role) -> None:
        await self.set_and_reply(interaction, {"moderator_role": check_moderator_role(role).id})

    @config.command(name="crisis-resources", description="The help text shown at once to a member in crisis")
    @app_commands.describe(text="One or two resources for your members' country; leave empty to edit on several lines")
    async def crisis_resources(self, interaction: Interaction, text: str | None = None) -> None:
        if text is None:
            assert interaction.guild is not None
            current = (await guild_config(interaction)).crisis_resources
            await interaction.response.send_modal(CrisisResourcesModal(self, current))
            return
        await self.set_and_reply(interaction, {"crisis_resources": text})

    @config.command(name="posting", description="Turn posting on or off and set its limits")
    @app_commands.describe(
        enabled="Whether members can share posts with /share",
        anonymous_allowed="Whether members may post without their name",
        cooldown_seconds="Seconds a member waits between two posts (0 to 86400)",
        daily_cap="Most posts a member can share in 24 hours (1 to 50)",
        min_member_age_hours="Hours someone must have been a member before posting (0 to 720)",
    )
    async def posting(self, interaction: Interaction, enabled: bool | None = None,
                      anonymous_allowed: bool | None = None, cooldown_seconds: int | None = None,
                      daily_cap: int | None = None, min_member_age_hours: int | None = None) -> None:
        given = {"posting_enabled": enabled, "anonymous_allowed": anonymous_allowed,
                 "cooldown_seconds": cooldown_seconds, "daily_cap": daily_cap,
                 "min_member_age_hours": min_member_age_hours}
        values = {name: value for name, value in given.items() if value is not None}
        if not values:
            assert interaction.guild is not None
            config = await guild_config(interaction)
            lines = [f"**{SETTINGS[n].label}**: {value_text(SETTINGS[n], getattr(config, n))}" for n in given]
            await send_ephemeral(interaction, "\n".join(lines) + "\nGive one or more options to change them.")
            return
        await self.set_and_reply(interaction, values)

    @config.command(name="decisions-anonymous", description="Tell authors a decision without the moderator's name")
    @app_commands.describe(value="On: authors don't see which moderator decided")
    async def decisions_anonymous(self, interaction: Interaction, value: bool) -> None:
        await self.set_and_reply(interaction, {"decisions_anonymous": value})

    @config.command(name="reset", description="Put one setting back to its default")
    @app_commands.describe(setting="The setting to reset, e.g. cooldown_seconds")
    async def reset(self, interaction: Interaction, setting: str) -> None:
        assert interaction.guild is not None
        s = lookup(setting)
        change = await self.settings.reset(interaction.guild.id, s.name, actor_id=interaction.user.id)
        if change.changed:
            text = f"**{s.label}** is back to its default, {value_text(s, change.new)} (was {value_text(s, change.old)})."
        else:
            text = f"**{s.label}** already has its default, {value_text(s, change.new)}. {NOTHING_CHANGED}"
        await send_ephemeral(interaction, clip(text, CONTENT_MAX))
        await mirror_to_log(self.bot, interaction.guild, [change.audit],
                            config=await guild_config(interaction, reread=change.changed))

    @reset.autocomplete("setting")
    async def reset_setting_names(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not has_manage_server(interaction):
            return []
        typed = current.strip().lower().replace("-", "_").replace(" ", "_")
        return [app_commands.Choice(name=f"{s.label} ({s.name})", value=s.name) for s in admin_settings()
                if typed in s.name or typed in s.label.lower().replace(" ", "_")][:25]

    @config.command(name="export", description="Download this server's settings as a file for /config import")
    async def export(self, interaction: Interaction) -> None:
        guild = interaction.guild
        assert guild is not None
        data = await self.settings.export(guild.id)
        # Ids mean nothing in another server: names let an import there find the same channels and roles.
        names = {}
        for name, value in data["settings"].items():
            thing = (guild.get_channel(int(value)) if SETTINGS[name].kind == "channel" else
                     guild.get_role(int(value)) if SETTINGS[name].kind == "role" else None) if value else None
            if thing is not None:
                names[name] = thing.name
        data["names"] = names
        raw = json.dumps(data, indent=2, ensure_ascii=False).encode()
        await send_ephemeral(
            interaction, "This server's settings. To copy them, run `/config import` in the other server with this "
                         "file: channels and roles are matched by name there.",
            file=discord.File(io.BytesIO(raw), filename="fibro-circle-settings.json"))

    @config.command(name="import", description="Apply a settings file made by /config export")
    @app_commands.describe(file="The .json file from /config export")
    async def import_settings(self, interaction: Interaction, file: discord.Attachment) -> None:
        guild = interaction.guild
        assert guild is not None
        if file.size > MAX_IMPORT_BYTES:
            raise UserFacingError(f"That file is {file.size:,} bytes; a settings file is at most {MAX_IMPORT_BYTES:,}. "
                                  f"Use a file made by /config export. {NOTHING_CHANGED}")
        await defer(interaction, ephemeral=True)  # downloading the file takes a moment
        data = read_settings_file(await file.read())
        matched = match_by_name(data, guild)
        check_usable_here(data, guild)

        def exists(kind: str, thing_id: int) -> bool:
            return (guild.get_channel(thing_id) if kind == "channel" else guild.get_role(thing_id)) is not None

        result = await self.settings.import_(guild.id, data, actor_id=interaction.user.id, exists=exists, missing="skip")
        config = await guild_config(interaction, reread=True)
        lines = [change_line(c) for c in result] or ["Every setting in that file already matches this server."]
        lines += matched + [f"Skipped: {s}" for s in result.skipped]
        if any(SETTINGS[c.name].kind in ("channel", "role") for c in result):  # say at once if a new one is unusable
            lines += [f"⚠️ {p}" for p in server_problems(guild, config)]
        await send_ephemeral(interaction, clip("\n".join(lines), CONTENT_MAX))
        await mirror_to_log(self.bot, guild, [c.audit for c in result], config=config)

    @config.command(name="articles", description="The articles members read here: turn them on or off, choose the featured one")
    @app_commands.describe(turn_on="An article to show in /study, /quote and /topics",
                           turn_off="An article members should no longer see here",
                           feature="The article /study shows when a member names none")
    async def articles(self, interaction: Interaction, turn_on: str | None = None, turn_off: str | None = None,
                       feature: str | None = None) -> None:
        guild = interaction.guild
        assert guild is not None
        config = await guild_config(interaction)
        every = await library.library(self.bot.db, guild.id)
        server = library.server_articles(every, config)
        values: dict[str, Any] = {}
        whole = library.ServerArticles(every, None, [])  # any article of the library, on or off
        on = [whole.find(turn_on)] if turn_on else []
        off = [whole.find(turn_off)] if turn_off else []
        if feature:
            featured = whole.find(feature)
            on.append(featured)
            values["featured_article"] = featured.id
        if on or off:
            if {a.id for a in on} & {a.id for a in off}:
                raise UserFacingError(f"You asked to turn the same article on and off. {NOTHING_CHANGED}")
            if server.featured is not None and any(a.id == server.featured.id for a in off) and not feature:
                raise UserFacingError(f"“{server.featured.title}” is the featured article: feature another one "
                                      f"first (`feature:`), then turn this one off. {NOTHING_CHANGED}")
            values["hidden_articles"] = library.turned(server, config, on=on, off=off)
        if not values:
            await send_ephemeral(interaction, embed=library_embed(guild, server, every))
            return
        changes = await self.settings.set_many(guild.id, values, actor_id=interaction.user.id)
        config = await guild_config(interaction, reread=bool(changes))
        lines = [f"**{a.title}** is {'on' if a.id not in config.hidden_articles else 'off'}." for a in on + off]
        if feature:
            lines.append(f"⭐ **{featured.title}** is now featured: /study shows it unless a member picks another.")
        if not changes:
            lines.append(NOTHING_CHANGED)
        await send_ephemeral(interaction, clip("\n".join(dict.fromkeys(lines)), CONTENT_MAX),
                             embed=library_embed(guild, library.server_articles(every, config), every))
        await mirror_to_log(self.bot, guild, [c.audit for c in changes], config=config)

    @articles.autocomplete("turn_on")
    @articles.autocomplete("turn_off")
    @articles.autocomplete("feature")
    async def article_names(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not has_manage_server(interaction) or interaction.guild is None:
            return []
        every = await library.library(self.bot.db, interaction.guild.id)
        return [app_commands.Choice(name=name, value=value) for name, value in library.choices(every, current)]

    @article.command(name="add", description="Upload an article (plain text or Markdown): preview it, then add it")
    @app_commands.describe(file="The article as a .txt or .md file: headline, paragraphs, byline, reader comments")
    async def article_add(self, interaction: Interaction, file: discord.Attachment) -> None:
        guild = interaction.guild
        assert guild is not None
        library.check_upload_name(file.filename, file.size)  # refused before downloading anything
        await defer(interaction, ephemeral=True)  # downloading and parsing take a moment
        raw = await file.read()
        text = library.read_upload(raw, file.filename)
        parsed = library.parse_upload(text, file.filename)
        there = await library.already_there(self.bot.db, parsed, guild.id)
        if there is not None:
            raise UserFacingError(f"That article is already in this server's library as **#{there.id} {clip(there.title, 200)}**. "
                                  f"Turn it on or feature it with `/config articles`. {NOTHING_CHANGED}")
        upload_id = await library.stage_upload(self.bot.db, guild.id, interaction.user.id, file.filename, text)
        await send_ephemeral(interaction, embed=preview_embed(parsed, file.filename), view=preview_view(upload_id))

    @config.command(name="setup", description="Open the setup wizard: channels and moderator role in a minute")
    async def open_wizard(self, interaction: Interaction) -> None:
        await send_wizard(interaction)

    # -- events ---------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: Interaction, command: Any) -> None:
        """Offer the setup wizard once, after the first /config command an admin runs in a server."""
        if getattr(command, "binding", None) is not self or interaction.guild is None or command.name == "setup":
            return
        if interaction.response.type is discord.InteractionResponseType.modal:
            return  # a modal can't be followed by a message; offer it next time
        config = await guild_config(interaction)
        if config.setup_offered:
            return
        await self.settings.set(interaction.guild.id, "setup_offered", True, actor_id=interaction.user.id)
        if not needs_setup(config):
            return
        try:
            await reply(
                interaction, "Welcome! Fibro Circle isn't fully set up in this server yet. This takes a minute "
                "(you can open it again any time with `/config setup`):",
                embed=wizard_embed(config), view=wizard_view(), ephemeral=True)
        except discord.HTTPException:
            log.warning("guild %s: could not offer the setup wizard", interaction.guild.id, exc_info=True)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """A short welcome in the first channel the bot may write in, with a button for admins."""
        candidates = [guild.system_channel] if guild.system_channel else []
        candidates += sorted(guild.text_channels, key=lambda c: c.position)
        channel = next((c for c in candidates if c is not None and not missing_permissions(c)), None)
        if channel is None:
            log.info("joined guild %s: no channel to say hello in", guild.id)
            return
        embed = brand_embed(
            "Thanks for adding Fibro Circle",
            "A companion for fibromyalgia and chronic-pain support groups: a plain-words study summary, "
            "readers' experiences, and member posts reviewed by your moderators.\n\n"
            "Someone with the **Manage Server** permission can set it up in a minute with the button below "
            "or `/config setup`.")
        view = DynamicView()
        view.add_item(OpenSetupButton())
        try:
            await channel.send(embed=embed, view=view)
        except discord.HTTPException:
            log.warning("joined guild %s: the welcome message failed", guild.id, exc_info=True)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        forgotten = await self.settings.forget_channel(channel.guild.id, channel.id)
        if forgotten:
            log.info("guild %s: channel %s deleted, cleared %s", channel.guild.id, channel.id, ", ".join(forgotten))
            await self._mirror_forgotten(channel.guild, forgotten, "channel deleted")

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        forgotten = await self.settings.forget_role(role.guild.id, role.id)
        if forgotten:
            log.info("guild %s: role %s deleted, cleared %s", role.guild.id, role.id, ", ".join(forgotten))
            await self._mirror_forgotten(role.guild, forgotten, "role deleted")

    async def _mirror_forgotten(self, guild: discord.Guild, names: list[str], how: str) -> None:
        # The core returns the names it cleared; their audit rows are the newest of that kind.
        entries = await audit.recent(self.bot.db, guild.id, limit=len(names) + 20, action=audit.SETTING_CHANGED)
        latest: dict[str, AuditEntry] = {}
        for entry in entries:
            if entry.detail.get("how") == how and entry.detail.get("setting") in names:
                latest.setdefault(str(entry.detail["setting"]), entry)
        await mirror_to_log(self.bot, guild, sorted(latest.values(), key=lambda e: e.id))
