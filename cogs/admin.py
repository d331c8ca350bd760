"""/config: server admins set Fibro Circle up for their server and see at a glance how it is set up.

Everything about a setting (its default, its limits, the refusal messages, the audit row) lives in
bot/guild_settings.py; this cog only adds what only Discord knows: whether a channel still exists,
whether the bot may send there, who may change settings. Every reply is private to the admin.

Also here: the setup wizard (select menus and buttons, offered the first time an admin uses /config
and in a short welcome when the bot joins a server), forgetting channels and roles that are deleted,
and mirroring every change to the server's log channel.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Iterable, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import audit
from bot.audit import AuditEntry
from bot.errors import NotAllowed, UserFacingError
from bot.guild_settings import (
    MAX_IMPORT_BYTES,
    NOTHING_CHANGED,
    SETTINGS,
    GuildConfig,
    GuildSettings,
    SettingChange,
    admin_settings,
    describe,
    lookup,
    read_settings_file,
    setup_gaps,
    value_text,
)
from cogs._shared import DynamicView, BaseModal, SafeDynamicItem, brand_embed, send_ephemeral

log = logging.getLogger("fibrocircle.admin")

# The channel kinds an admin chooses with /config channel, and the setting each one fills.
CHANNEL_KINDS = {"posts": "posts_channel", "queue": "queue_channel", "log": "log_channel"}
# What the bot must be allowed to do in each of those channels: it posts embeds there.
NEEDED_IN_CHANNEL = {"view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links"}
# Channels meant for moderators only: pending posts (anonymous ones too) and moderation decisions.
MODERATOR_ONLY = ("queue_channel", "log_channel")
TEXT_CHANNEL_TYPES = [discord.ChannelType.text, discord.ChannelType.news]
# What the wizard's "Create channels for me" makes when a channel of that name does not exist.
WIZARD_CHANNELS = {
    "posts_channel": ("community-posts", "Member experiences shared with Fibro Circle, after review."),
    "queue_channel": ("mod-queue", "Posts waiting for a moderator's review. Moderators only."),
    "log_channel": ("mod-log", "Setting changes and moderation decisions. Moderators only."),
}
WIZARD_ROLE_NAME = "Fibro Circle moderators"
ACTION_REFUSED = "config.refused"
READ_ONLY_COMMANDS = ("config show", "config export")
MAX_MESSAGE = 2000


def guild_settings(bot: commands.Bot) -> GuildSettings:
    """The bot's one per-server settings object (`bot.guild_settings`), made on first use if missing."""
    settings = getattr(bot, "guild_settings", None)
    if settings is None:
        settings = GuildSettings(bot.db)  # type: ignore[attr-defined]
        bot.guild_settings = settings  # type: ignore[attr-defined]
    return settings


# -- who may change settings ------------------------------------------------------------------

class NeedsManageServer(app_commands.CheckFailure, NotAllowed):
    """A member without Manage Server tried /config or a setup button. Being a CheckFailure lets
    the command tree hand it to the one error handler; being NotAllowed makes that handler show
    this message and note the refusal."""

    def __init__(self, *, would_change: bool = True) -> None:
        super().__init__("Only members with the Manage Server permission can see or change Fibro Circle's "
                         "settings." + (f" {NOTHING_CHANGED}" if would_change else ""))


def has_manage_server(interaction: discord.Interaction) -> bool:
    # interaction.permissions are the member's permissions in this channel; Administrator implies all.
    return interaction.guild is not None and interaction.permissions.manage_guild


async def require_manage_server(interaction: discord.Interaction) -> None:
    """Servers can override who sees /config, so the permission is checked again on every use."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if has_manage_server(interaction):
        return
    what = interaction.command.qualified_name if interaction.command else "setup wizard"
    await audit.record_now(interaction.client.db, guild_id=interaction.guild.id,  # type: ignore[attr-defined]
                           actor_id=interaction.user.id, action=ACTION_REFUSED, target=what[:200])
    raise NeedsManageServer(would_change=what not in READ_ONLY_COMMANDS)


# -- checks that need Discord: channels, roles, permissions -----------------------------------

def label_of(name: str) -> str:
    return SETTINGS[name].label


def missing_permissions(channel: discord.abc.GuildChannel) -> list[str]:
    perms = channel.permissions_for(channel.guild.me)
    return [shown for flag, shown in NEEDED_IN_CHANNEL.items() if not getattr(perms, flag)]


def everyone_can_read(channel: discord.abc.GuildChannel) -> bool:
    return channel.permissions_for(channel.guild.default_role).view_channel


def privacy_warning(name: str, channel: discord.abc.GuildChannel) -> str | None:
    if name in MODERATOR_ONLY and everyone_can_read(channel):
        what = "pending posts (anonymous ones too)" if name == "queue_channel" else "moderation decisions"
        return (f"Everyone in the server can read {channel.mention}: {what} should be seen by moderators only. "
                "Consider making the channel private (deny View Channel to @everyone, allow it to moderators "
                "and to Fibro Circle).")
    return None


def check_channel(name: str, channel: Any) -> discord.TextChannel:
    """The channel if the bot can use it for setting `name`; otherwise a refusal that says exactly why."""
    label = label_of(name).lower()
    if not isinstance(channel, discord.TextChannel):
        kind = getattr(getattr(channel, "type", None), "name", "other").replace("_", " ")
        where = getattr(channel, "mention", "That channel")
        raise UserFacingError(f"{where} is a {kind} channel; the {label} must be a text channel, since the bot "
                              f"posts messages there. {NOTHING_CHANGED}")
    missing = missing_permissions(channel)
    if missing:
        raise UserFacingError(
            f"I can't use {channel.mention} as the {label}: I'm missing {', '.join(missing)} there. Give "
            f"Fibro Circle {'this permission' if len(missing) == 1 else 'these permissions'} in the channel's "
            f"settings (Edit Channel → Permissions), then try again. {NOTHING_CHANGED}")
    return channel


def check_moderator_role(role: discord.Role) -> discord.Role:
    if role.is_default():
        raise UserFacingError("@everyone can't be the moderator role: every member could review posts, including "
                              f"anonymous ones. Choose a role only moderators have. {NOTHING_CHANGED}")
    if role.managed:
        raise UserFacingError(f"{role.mention} belongs to a bot or integration and can't be given to people. "
                              f"Choose a role your moderators have. {NOTHING_CHANGED}")
    return role


class TextChannelOption(app_commands.Transformer):
    """A channel option that offers text channels only and explains the refusal if something else
    arrives anyway (instead of discord.py's generic "not a valid value")."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return TEXT_CHANNEL_TYPES

    async def transform(self, interaction: discord.Interaction, value: Any) -> Any:
        channel = interaction.guild.get_channel(value.id) if interaction.guild else None
        if channel is None:
            raise UserFacingError(f"I can't see that channel. Check that Fibro Circle has View Channel there. {NOTHING_CHANGED}")
        return channel  # the kind is checked by check_channel, which names the setting


def server_problems(guild: discord.Guild, config: GuildConfig) -> list[str]:
    """What only Discord knows is wrong: channels gone, permissions missing, private channels public."""
    problems = []
    for name in CHANNEL_KINDS.values():
        channel_id = getattr(config, name)
        if channel_id is None:
            continue
        channel = guild.get_channel(channel_id)
        if channel is None:
            problems.append(f"The {label_of(name).lower()} (id {channel_id}) no longer exists: choose another.")
            continue
        if not isinstance(channel, discord.TextChannel):
            problems.append(f"The {label_of(name).lower()} {channel.mention} is not a text channel: choose another.")
            continue
        missing = missing_permissions(channel)
        if missing:
            problems.append(f"In {channel.mention} ({label_of(name).lower()}) I'm missing {', '.join(missing)}.")
        warning = privacy_warning(name, channel)
        if warning:
            problems.append(warning)
    if config.moderator_role is not None and guild.get_role(config.moderator_role) is None:
        problems.append(f"The moderator role (id {config.moderator_role}) no longer exists: choose another.")
    return problems


async def forgotten_notes(bot: commands.Bot, config: GuildConfig) -> list[str]:
    """Settings still empty because their channel or role was deleted, from the audit log."""
    latest: dict[str, AuditEntry] = {}
    for entry in await audit.recent(bot.db, config.guild_id, limit=100, action=audit.SETTING_CHANGED):  # type: ignore[attr-defined]
        latest.setdefault(str(entry.detail.get("setting")), entry)
    notes = []
    for name, entry in latest.items():
        how = entry.detail.get("how")
        if how in ("channel deleted", "role deleted") and name in SETTINGS and getattr(config, name) is None:
            thing = how.split()[0]
            notes.append(f"The {label_of(name).lower()} was cleared because its {thing} was deleted "
                         f"({entry.created_at[:16].replace('T', ' ')} UTC). Choose a new one.")
    return notes


# -- replies ------------------------------------------------------------------------------------

def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def change_line(change: SettingChange) -> str:
    s = SETTINGS[change.name]
    if s.kind == "text":  # long text reads better quoted on its own lines; the old text is in the log
        quoted = "\n".join(f"> {line}" for line in str(change.new).splitlines())
        return f"**{s.label}** {'is now' if change.changed else 'was already'}:\n{quoted}"
    if not change.changed:
        return f"**{s.label}** was already {value_text(s, change.new)}."
    return f"**{s.label}** is now {value_text(s, change.new)} (was {value_text(s, change.old)})."


def reply_for(changes: list[SettingChange], notes: Iterable[str] = ()) -> str:
    lines = [change_line(c) for c in changes]
    if lines and not any(c.changed for c in changes):
        lines.append(NOTHING_CHANGED)
    lines += [f"⚠️ {note}" for note in notes]
    return _clip("\n".join(lines), MAX_MESSAGE)


def show_embed(guild: discord.Guild, config: GuildConfig, problems: list[str]) -> discord.Embed:
    if problems:
        description = "**Needs attention**\n" + "\n".join(f"• {p}" for p in problems)
    else:
        description = "Everything is set up."
    embed = brand_embed(f"Fibro Circle settings for {guild.name}", _clip(description, 3000))
    for view in describe(config):
        marker = " · default" if view.is_default else ""
        hint = f"\n*{view.description}*"
        value = _clip(view.value_text, 1024 - len(marker) - len(hint)) + marker + hint
        embed.add_field(name=view.label, value=value, inline=view.kind != "text")
    embed.set_footer(text="Change one with /config channel, moderator-role, posting…; "
                          "/config reset puts one back to its default.")
    return embed


async def mirror_to_log(bot: commands.Bot, guild: discord.Guild, entries: Iterable[AuditEntry | None]) -> None:
    """Post audit entries to the server's log channel, if it has one the bot can write in.

    Never raises: the change is already saved and audited; a log channel that fails is logged."""
    shown = [e for e in entries if e is not None
             and not getattr(SETTINGS.get(str(e.detail.get("setting"))), "internal", False)]
    if not shown:
        return
    config = await guild_settings(bot).get(guild.id)
    channel = guild.get_channel(config.log_channel) if config.log_channel else None
    if not isinstance(channel, discord.TextChannel):
        return
    perms = channel.permissions_for(guild.me)
    if not (perms.view_channel and perms.send_messages):
        log.warning("guild %s: can't mirror the audit log to channel %s (missing permissions)", guild.id, channel.id)
        return
    chunk: list[str] = []
    chunks = [chunk]
    for line in (audit.format_entry(e) for e in shown):
        if chunk and len("\n".join(chunk + [line])) > MAX_MESSAGE:
            chunk = []
            chunks.append(chunk)
        chunk.append(line)
    for lines in chunks:
        try:  # the client's allowed_mentions forbid pings: mentions render as names only
            await channel.send("\n".join(lines))
        except discord.HTTPException:
            log.warning("guild %s: mirroring the audit log to channel %s failed", guild.id, channel.id, exc_info=True)
            return


# -- the setup wizard ---------------------------------------------------------------------------

def wizard_embed(config: GuildConfig, note: str | None = None) -> discord.Embed:
    lines = []
    for name in ("posts_channel", "queue_channel", "log_channel", "moderator_role"):
        s = SETTINGS[name]
        value = getattr(config, name)
        lines.append(f"{'✅' if value is not None else '⬜'} **{s.label}**: "
                     f"{value_text(s, value) if value is not None else 'not set'} — {s.description}")
    embed = brand_embed(
        "Set up Fibro Circle",
        "Pick the channels and the moderator role below: each choice is saved at once. Or press "
        "**Create channels for me** and **Create a moderator role**. Anything else: `/config show`.\n\n"
        + "\n".join(lines),
    )
    if note:
        embed.add_field(name="Last change", value=_clip(note, 1024), inline=False)
    return embed


def wizard_view() -> discord.ui.View:
    view = DynamicView()  # every item is a DynamicItem: it works after a restart too
    for name in CHANNEL_KINDS.values():
        view.add_item(WizardChannelPick(name))
    view.add_item(WizardRolePick())
    view.add_item(WizardCreateChannels())
    view.add_item(WizardCreateRole())
    view.add_item(WizardDone())
    return view


def needs_setup(config: GuildConfig) -> bool:
    return any(getattr(config, n) is None for n in (*CHANNEL_KINDS.values(), "moderator_role"))


class WizardChannelPick(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.ChannelSelect],
                        template=r"fibrocircle:setup:pick:(?P<setting>posts_channel|queue_channel|log_channel)"):
    PLACEHOLDERS = {
        "posts_channel": "Posts channel: where approved posts are published",
        "queue_channel": "Queue channel: where moderators review posts",
        "log_channel": "Log channel: where changes are logged",
    }

    def __init__(self, setting_name: str) -> None:
        super().__init__(discord.ui.ChannelSelect(
            custom_id=f"fibrocircle:setup:pick:{setting_name}", channel_types=TEXT_CHANNEL_TYPES,
            placeholder=self.PLACEHOLDERS[setting_name], min_values=1, max_values=1,
            row=list(CHANNEL_KINDS.values()).index(setting_name)))
        self.setting_name = setting_name

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "WizardChannelPick":
        return cls(match["setting"])

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_manage_server(interaction)
        assert interaction.guild is not None
        picked = self.item.values[0]
        channel = check_channel(self.setting_name, interaction.guild.get_channel(picked.id) or picked)
        await apply_from_wizard(interaction, {self.setting_name: channel.id},
                                [privacy_warning(self.setting_name, channel)])


class WizardRolePick(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.RoleSelect],
                     template=r"fibrocircle:setup:pick:moderator_role"):
    def __init__(self) -> None:
        super().__init__(discord.ui.RoleSelect(
            custom_id="fibrocircle:setup:pick:moderator_role", placeholder="Moderator role: who reviews posts",
            min_values=1, max_values=1, row=3))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "WizardRolePick":
        return cls()

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_manage_server(interaction)
        role = check_moderator_role(self.item.values[0])
        await apply_from_wizard(interaction, {"moderator_role": role.id})


class WizardCreateChannels(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                           template=r"fibrocircle:setup:create-channels"):
    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Create channels for me", style=discord.ButtonStyle.primary,
                                           custom_id="fibrocircle:setup:create-channels", row=4))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "WizardCreateChannels":
        return cls()

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_manage_server(interaction)
        guild = interaction.guild
        assert guild is not None
        if not guild.me.guild_permissions.manage_channels:
            raise UserFacingError("I need the Manage Channels permission to create channels. Choose existing "
                                  f"channels in the menus instead, or give Fibro Circle that permission. {NOTHING_CHANGED}")
        await interaction.response.defer()  # creating channels takes a few requests
        config = await guild_settings(interaction.client).get(guild.id)  # type: ignore[arg-type]
        moderators = guild.get_role(config.moderator_role) if config.moderator_role else None
        values: dict[str, int] = {}
        done: list[str] = []
        warnings: list[str | None] = []
        for name, (channel_name, topic) in WIZARD_CHANNELS.items():
            current = guild.get_channel(getattr(config, name)) if getattr(config, name) else None
            if isinstance(current, discord.TextChannel):
                done.append(f"{label_of(name)}: kept {current.mention}")
                warnings.append(privacy_warning(name, current))
                continue
            existing = discord.utils.find(lambda c: c.name == channel_name, guild.text_channels)
            if existing is not None:
                if missing_permissions(existing):
                    done.append(f"{label_of(name)}: {existing.mention} exists but I'm missing "
                                f"{', '.join(missing_permissions(existing))} there; pick another channel")
                    continue
                values[name] = existing.id
                done.append(f"{label_of(name)}: using the existing {existing.mention}")
                warnings.append(privacy_warning(name, existing))
                continue
            private = name in MODERATOR_ONLY
            overwrites: dict[Any, discord.PermissionOverwrite] = {}
            if private:  # moderators only: nobody else may read pending posts or decisions
                allow = discord.PermissionOverwrite(view_channel=True, send_messages=True, read_message_history=True)
                overwrites[guild.default_role] = discord.PermissionOverwrite(view_channel=False)
                overwrites[guild.me] = discord.PermissionOverwrite(view_channel=True, send_messages=True,
                                                                   embed_links=True, read_message_history=True)
                overwrites[interaction.user] = allow  # so the admin who asked can see it
                if moderators is not None:
                    overwrites[moderators] = allow
            try:
                created = await guild.create_text_channel(channel_name, topic=topic, overwrites=overwrites,
                                                          reason=f"Fibro Circle setup by {interaction.user}")
            except discord.HTTPException as e:
                log.warning("guild %s: creating #%s failed: %s", guild.id, channel_name, e)
                done.append(f"{label_of(name)}: Discord refused to create #{channel_name} ({e.text or e.status})")
                continue
            values[name] = created.id
            done.append(f"{label_of(name)}: created {created.mention}" + (" (private)" if private else ""))
        if moderators is None and any(n in values for n in MODERATOR_ONLY):
            done.append("No moderator role yet: give it access to the private channels once you choose one.")
        await apply_from_wizard(interaction, values, warnings, summary="\n".join(done))


class WizardCreateRole(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                       template=r"fibrocircle:setup:create-role"):
    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Create a moderator role", style=discord.ButtonStyle.secondary,
                                           custom_id="fibrocircle:setup:create-role", row=4))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "WizardCreateRole":
        return cls()

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_manage_server(interaction)
        guild = interaction.guild
        assert guild is not None
        role = discord.utils.get(guild.roles, name=WIZARD_ROLE_NAME)
        if role is None:
            if not guild.me.guild_permissions.manage_roles:
                raise UserFacingError("I need the Manage Roles permission to create a role. Choose an existing "
                                      f"role in the menu instead. {NOTHING_CHANGED}")
            # Only a marker that tells the bot who reviews posts: no permissions are asked for, so
            # Discord gives it the same ones as @everyone and it grants nothing new.
            role = await guild.create_role(name=WIZARD_ROLE_NAME, reason=f"Fibro Circle setup by {interaction.user}")
            summary = f"Created {role.mention}. Give it to your moderators in Server Settings → Members."
        else:
            summary = f"Using the existing {role.mention}. Give it to your moderators in Server Settings → Members."
        await apply_from_wizard(interaction, {"moderator_role": role.id}, [], summary=summary)


class WizardDone(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button], template=r"fibrocircle:setup:done"):
    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Done", style=discord.ButtonStyle.success,
                                           custom_id="fibrocircle:setup:done", row=4))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "WizardDone":
        return cls()

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_manage_server(interaction)
        assert interaction.guild is not None
        bot = interaction.client
        config = await guild_settings(bot).get(interaction.guild.id)  # type: ignore[arg-type]
        problems = server_problems(interaction.guild, config) + setup_gaps(config)
        await interaction.response.edit_message(
            content="Setup saved. See or change anything later with `/config show` and the other `/config` commands.",
            embed=show_embed(interaction.guild, config, problems), view=None)


class OpenSetupButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button], template=r"fibrocircle:setup:open"):
    """On the welcome message the bot posts when it joins a server."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Set up Fibro Circle", style=discord.ButtonStyle.primary,
                                           custom_id="fibrocircle:setup:open"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any) -> "OpenSetupButton":
        return cls()

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_manage_server(interaction)
        await send_wizard(interaction)


async def send_wizard(interaction: discord.Interaction, note: str | None = None) -> None:
    """Show the wizard privately to the admin, and remember it was offered."""
    assert interaction.guild is not None
    settings = guild_settings(interaction.client)  # type: ignore[arg-type]
    await settings.set(interaction.guild.id, "setup_offered", True, actor_id=interaction.user.id)
    config = await settings.get(interaction.guild.id)
    await send_ephemeral(interaction, note, embed=wizard_embed(config), view=wizard_view())


async def apply_from_wizard(interaction: discord.Interaction, values: dict[str, int],
                            warnings: Iterable[str | None] = (), summary: str | None = None) -> None:
    """Save what the wizard chose, refresh the wizard message, and mirror the change."""
    guild = interaction.guild
    assert guild is not None
    settings = guild_settings(interaction.client)  # type: ignore[arg-type]
    changes = await settings.set_many(guild.id, values, actor_id=interaction.user.id, how="wizard") if values else []
    config = await settings.get(guild.id)
    notes = [w for w in warnings if w]
    note = "\n".join([summary] if summary else [change_line(c) for c in changes] or ["Nothing changed."])
    if notes:
        note += "\n" + "\n".join(f"⚠️ {n}" for n in notes)
    if interaction.response.is_done():
        await interaction.edit_original_response(embed=wizard_embed(config, note), view=wizard_view())
    else:
        await interaction.response.edit_message(embed=wizard_embed(config, note), view=wizard_view())
    await mirror_to_log(interaction.client, guild, [c.audit for c in changes])  # type: ignore[arg-type]


# -- the crisis-resources modal, for text with line breaks --------------------------------------

class CrisisResourcesModal(BaseModal, title="Crisis resources text"):
    def __init__(self, cog: "Admin", current: str) -> None:
        super().__init__(timeout=15 * 60)
        self.cog = cog
        self.text = discord.ui.TextInput(
            label="Shown at once to a member in crisis", style=discord.TextStyle.paragraph, default=current,
            max_length=SETTINGS["crisis_resources"].max_length, required=True)
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.cog.set_and_reply(interaction, {"crisis_resources": self.text.value})


# -- the cog ------------------------------------------------------------------------------------

class Admin(commands.Cog):
    config = app_commands.Group(
        name="config", description="See and change how Fibro Circle works in this server (Manage Server)",
        guild_only=True, default_permissions=discord.Permissions(manage_guild=True))

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.settings = guild_settings(bot)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(WizardChannelPick, WizardRolePick, WizardCreateChannels, WizardCreateRole,
                                   WizardDone, OpenSetupButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(WizardChannelPick, WizardRolePick, WizardCreateChannels, WizardCreateRole,
                                      WizardDone, OpenSetupButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        await require_manage_server(interaction)
        return True

    async def set_and_reply(self, interaction: discord.Interaction, values: dict[str, Any],
                            notes: Iterable[str | None] = ()) -> None:
        """The one path every setting command takes: validate and save (all or nothing), reply, mirror."""
        assert interaction.guild is not None
        changes = await self.settings.set_many(interaction.guild.id, values, actor_id=interaction.user.id)
        by_name = {c.name: c for c in changes}
        config = await self.settings.get(interaction.guild.id)
        shown = [by_name.get(n) or SettingChange(n, getattr(config, n), getattr(config, n)) for n in values]
        await send_ephemeral(interaction, reply_for(shown, [n for n in notes if n]))
        await mirror_to_log(self.bot, interaction.guild, [c.audit for c in changes])
        if {"queue_channel", "posts_channel"} & set(by_name):
            # Posts waiting for a queue or posts channel can go out now, not at the worker's next round.
            self.bot.dispatch("fibrocircle_work")

    # -- commands -------------------------------------------------------------------------------
    @config.command(name="show", description="Every setting, whether it is the default, and what needs attention")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        config = await self.settings.get(interaction.guild.id)
        problems = (await forgotten_notes(self.bot, config) + server_problems(interaction.guild, config)
                    + setup_gaps(config))
        await send_ephemeral(interaction, embed=show_embed(interaction.guild, config, problems))

    @config.command(name="channel", description="Choose where posts are published, reviewed, or logged")
    @app_commands.describe(kind="posts: published posts · queue: moderators review · log: audit log",
                           channel="A text channel where Fibro Circle can send messages and embeds")
    async def channel(self, interaction: discord.Interaction, kind: Literal["posts", "queue", "log"],
                      channel: app_commands.Transform[discord.TextChannel, TextChannelOption]) -> None:
        name = CHANNEL_KINDS[kind]
        chosen = check_channel(name, channel)
        await self.set_and_reply(interaction, {name: chosen.id}, [privacy_warning(name, chosen)])

    @config.command(name="moderator-role", description="The role whose members review posts")
    @app_commands.describe(role="Members with this role can review posts (Manage Server always can)")
    async def moderator_role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        await self.set_and_reply(interaction, {"moderator_role": check_moderator_role(role).id})

    @config.command(name="crisis-resources", description="The help text shown at once to a member in crisis")
    @app_commands.describe(text="One or two resources for your members' country; leave empty to edit on several lines")
    async def crisis_resources(self, interaction: discord.Interaction, text: str | None = None) -> None:
        if text is None:
            assert interaction.guild is not None
            current = (await self.settings.get(interaction.guild.id)).crisis_resources
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
    async def posting(self, interaction: discord.Interaction, enabled: bool | None = None,
                      anonymous_allowed: bool | None = None, cooldown_seconds: int | None = None,
                      daily_cap: int | None = None, min_member_age_hours: int | None = None) -> None:
        given = {"posting_enabled": enabled, "anonymous_allowed": anonymous_allowed,
                 "cooldown_seconds": cooldown_seconds, "daily_cap": daily_cap,
                 "min_member_age_hours": min_member_age_hours}
        values = {name: value for name, value in given.items() if value is not None}
        if not values:
            assert interaction.guild is not None
            config = await self.settings.get(interaction.guild.id)
            lines = [f"**{SETTINGS[n].label}**: {value_text(SETTINGS[n], getattr(config, n))}" for n in given]
            await send_ephemeral(interaction, "\n".join(lines) + "\nGive one or more options to change them.")
            return
        await self.set_and_reply(interaction, values)

    @config.command(name="decisions-anonymous", description="Tell authors a decision without the moderator's name")
    @app_commands.describe(value="On: authors don't see which moderator decided")
    async def decisions_anonymous(self, interaction: discord.Interaction, value: bool) -> None:
        await self.set_and_reply(interaction, {"decisions_anonymous": value})

    @config.command(name="reset", description="Put one setting back to its default")
    @app_commands.describe(setting="The setting to reset, e.g. cooldown_seconds")
    async def reset(self, interaction: discord.Interaction, setting: str) -> None:
        assert interaction.guild is not None
        s = lookup(setting)
        change = await self.settings.reset(interaction.guild.id, s.name, actor_id=interaction.user.id)
        if change.changed:
            text = f"**{s.label}** is back to its default, {value_text(s, change.new)} (was {value_text(s, change.old)})."
        else:
            text = f"**{s.label}** already has its default, {value_text(s, change.new)}. {NOTHING_CHANGED}"
        await send_ephemeral(interaction, _clip(text, MAX_MESSAGE))
        await mirror_to_log(self.bot, interaction.guild, [change.audit])

    @reset.autocomplete("setting")
    async def reset_setting_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not has_manage_server(interaction):
            return []
        typed = current.strip().lower().replace("-", "_").replace(" ", "_")
        return [app_commands.Choice(name=f"{s.label} ({s.name})", value=s.name) for s in admin_settings()
                if typed in s.name or typed in s.label.lower().replace(" ", "_")][:25]

    @config.command(name="export", description="Download this server's settings as a file for /config import")
    async def export(self, interaction: discord.Interaction) -> None:
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
    async def import_settings(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        guild = interaction.guild
        assert guild is not None
        if file.size > MAX_IMPORT_BYTES:
            raise UserFacingError(f"That file is {file.size:,} bytes; a settings file is at most {MAX_IMPORT_BYTES:,}. "
                                  f"Use a file made by /config export. {NOTHING_CHANGED}")
        await interaction.response.defer(ephemeral=True, thinking=True)  # downloading the file takes a moment
        data = read_settings_file(await file.read())
        matched = match_by_name(data, guild)
        check_usable_here(data, guild)

        def exists(kind: str, thing_id: int) -> bool:
            return (guild.get_channel(thing_id) if kind == "channel" else guild.get_role(thing_id)) is not None

        result = await self.settings.import_(guild.id, data, actor_id=interaction.user.id, exists=exists, missing="skip")
        config = await self.settings.get(guild.id)
        lines = [change_line(c) for c in result] or ["Every setting in that file already matches this server."]
        lines += matched + [f"Skipped: {s}" for s in result.skipped]
        if any(SETTINGS[c.name].kind in ("channel", "role") for c in result):  # say at once if a new one is unusable
            lines += [f"⚠️ {p}" for p in server_problems(guild, config)]
        await send_ephemeral(interaction, _clip("\n".join(lines), MAX_MESSAGE))
        await mirror_to_log(self.bot, guild, [c.audit for c in result])

    @config.command(name="setup", description="Open the setup wizard: channels and moderator role in a minute")
    async def open_wizard(self, interaction: discord.Interaction) -> None:
        await send_wizard(interaction)

    # -- events ---------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: discord.Interaction, command: Any) -> None:
        """Offer the setup wizard once, after the first /config command an admin runs in a server."""
        if getattr(command, "binding", None) is not self or interaction.guild is None or command.name == "setup":
            return
        if interaction.response.type is discord.InteractionResponseType.modal:
            return  # a modal can't be followed by a message; offer it next time
        config = await self.settings.get(interaction.guild.id)
        if config.setup_offered:
            return
        await self.settings.set(interaction.guild.id, "setup_offered", True, actor_id=interaction.user.id)
        if not needs_setup(config):
            return
        try:
            await interaction.followup.send(
                "Welcome! Fibro Circle isn't fully set up in this server yet. This takes a minute "
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
        entries = await audit.recent(self.bot.db, guild.id, limit=len(names) + 20, action=audit.SETTING_CHANGED)  # type: ignore[attr-defined]
        latest: dict[str, AuditEntry] = {}
        for entry in entries:
            if entry.detail.get("how") == how and entry.detail.get("setting") in names:
                latest.setdefault(str(entry.detail["setting"]), entry)
        await mirror_to_log(self.bot, guild, sorted(latest.values(), key=lambda e: e.id))


def match_by_name(data: Any, guild: discord.Guild) -> list[str]:
    """In a file exported from another server, point channel and role ids that don't exist here at
    the channel or role of the same name here. Changes `data` in place; returns what it matched."""
    settings_in_file = data.get("settings") if isinstance(data, dict) else None
    names = data.get("names") if isinstance(data, dict) else None
    if not isinstance(settings_in_file, dict) or not isinstance(names, dict):
        return []
    matched = []
    for name, value in settings_in_file.items():
        s = SETTINGS.get(name) if isinstance(name, str) else None
        wanted = names.get(name)
        if s is None or s.kind not in ("channel", "role") or not isinstance(wanted, str):
            continue
        if not (isinstance(value, str) and value.isdigit()):
            continue
        here = guild.get_channel(int(value)) if s.kind == "channel" else guild.get_role(int(value))
        if here is not None:
            continue  # the same server, or an id that exists here: use it as it is
        pool: list[Any] = guild.text_channels if s.kind == "channel" else [r for r in guild.roles if not r.is_default()]
        same_name = [x for x in pool if x.name.lower() == wanted.lower()]
        if len(same_name) == 1:
            settings_in_file[name] = str(same_name[0].id)
            matched.append(f"{s.label}: matched {same_name[0].mention} by its name.")
        else:
            matched.append(f"{s.label}: this server has {'no' if not same_name else 'more than one'} {s.kind} "
                           f"called “{_clip(wanted, 100)}”; choose one with /config or the setup wizard.")
    return matched


def check_usable_here(data: Any, guild: discord.Guild) -> None:
    """Refuse a file whose channels or roles exist here but could not be chosen with /config
    (a voice channel, a channel the bot can't post in, a bot's role): the same rules, nothing changed."""
    settings_in_file = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(settings_in_file, dict):
        return  # the core says what is wrong with the file
    problems = []
    for name, value in settings_in_file.items():
        s = SETTINGS.get(name) if isinstance(name, str) else None
        if s is None or s.kind not in ("channel", "role") or not (isinstance(value, str) and value.isdigit()):
            continue
        thing = guild.get_channel(int(value)) if s.kind == "channel" else guild.get_role(int(value))
        if thing is None:
            continue  # not in this server: the import skips it and says so
        try:
            check_channel(name, thing) if s.kind == "channel" else check_moderator_role(thing)
        except UserFacingError as e:
            problems.append(f"{name}: " + str(e).replace(f" {NOTHING_CHANGED}", ""))
    if problems:
        raise UserFacingError("That file can't be used in this server as it is:\n- " + "\n- ".join(problems)
                              + f"\nFix these here, or remove them from the file. {NOTHING_CHANGED}")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Admin(bot))
