"""The setup wizard: select menus and buttons that choose or create the posts, queue and log
channels and the moderator role, offered the first time an admin uses /config and when the bot
joins a server. Every button answers from its custom_id, so it works after a restart."""

from __future__ import annotations

import logging
from typing import Any, Iterable

import discord

from bot.errors import UserFacingError
from bot.guild_settings import NOTHING_CHANGED, SETTINGS, GuildConfig, setup_gaps, value_text
from cogs.config.channels import (
    CHANNEL_KINDS,
    MODERATOR_ONLY,
    TEXT_CHANNEL_TYPES,
    check_channel,
    check_moderator_role,
    label_of,
    privacy_warning,
    server_problems,
)
from cogs.config.replies import change_line, show_embed
from cogs.utils.checks import missing_permissions, require_manage_server
from cogs.utils.context import Interaction, guild_config
from cogs.utils.formats import brand_embed, clip
from cogs.utils.logchannel import mirror_to_log
from cogs.utils.replies import DynamicView, SafeDynamicItem, defer, send_ephemeral

log = logging.getLogger("fibrocircle.admin")


# What the wizard's "Create channels for me" makes when a channel of that name does not exist.
WIZARD_CHANNELS = {
    "posts_channel": ("community-posts", "Member experiences shared with Fibro Circle, after review."),
    "queue_channel": ("mod-queue", "Posts waiting for a moderator's review. Moderators only."),
    "log_channel": ("mod-log", "Setting changes and moderation decisions. Moderators only."),
}


WIZARD_ROLE_NAME = "Fibro Circle moderators"


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
        embed.add_field(name="Last change", value=clip(note, 1024), inline=False)
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
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "WizardChannelPick":
        return cls(match["setting"])

    async def handle(self, interaction: Interaction) -> None:
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
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "WizardRolePick":
        return cls()

    async def handle(self, interaction: Interaction) -> None:
        await require_manage_server(interaction)
        role = check_moderator_role(self.item.values[0])
        await apply_from_wizard(interaction, {"moderator_role": role.id})


class WizardCreateChannels(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                           template=r"fibrocircle:setup:create-channels"):
    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Create channels for me", style=discord.ButtonStyle.primary,
                                           custom_id="fibrocircle:setup:create-channels", row=4))

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "WizardCreateChannels":
        return cls()

    async def handle(self, interaction: Interaction) -> None:
        await require_manage_server(interaction)
        guild = interaction.guild
        assert guild is not None
        if not guild.me.guild_permissions.manage_channels:
            raise UserFacingError("I need the Manage Channels permission to create channels. Choose existing "
                                  f"channels in the menus instead, or give Fibro Circle that permission. {NOTHING_CHANGED}")
        await defer(interaction, ephemeral=True, update=True)  # creating channels takes a few requests
        config = await guild_config(interaction)
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
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "WizardCreateRole":
        return cls()

    async def handle(self, interaction: Interaction) -> None:
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
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "WizardDone":
        return cls()

    async def handle(self, interaction: Interaction) -> None:
        await require_manage_server(interaction)
        assert interaction.guild is not None
        config = await guild_config(interaction)
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
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "OpenSetupButton":
        return cls()

    async def handle(self, interaction: Interaction) -> None:
        await require_manage_server(interaction)
        await send_wizard(interaction)


async def send_wizard(interaction: Interaction, note: str | None = None) -> None:
    """Show the wizard privately to the admin, and remember it was offered."""
    assert interaction.guild is not None
    change = await interaction.client.guild_settings.set(interaction.guild.id, "setup_offered", True,
                                                         actor_id=interaction.user.id)
    config = await guild_config(interaction, reread=change.changed)
    await send_ephemeral(interaction, note, embed=wizard_embed(config), view=wizard_view())


async def apply_from_wizard(interaction: Interaction, values: dict[str, int],
                            warnings: Iterable[str | None] = (), summary: str | None = None) -> None:
    """Save what the wizard chose, refresh the wizard message, and mirror the change."""
    guild = interaction.guild
    assert guild is not None
    settings = interaction.client.guild_settings
    changes = await settings.set_many(guild.id, values, actor_id=interaction.user.id, how="wizard") if values else []
    config = await guild_config(interaction, reread=bool(changes))
    notes = [w for w in warnings if w]
    note = "\n".join([summary] if summary else [change_line(c) for c in changes] or ["Nothing changed."])
    if notes:
        note += "\n" + "\n".join(f"⚠️ {n}" for n in notes)
    if interaction.response.is_done():
        await interaction.edit_original_response(embed=wizard_embed(config, note), view=wizard_view())
    else:
        await interaction.response.edit_message(embed=wizard_embed(config, note), view=wizard_view())
    await mirror_to_log(interaction.client, guild, [c.audit for c in changes], config=config)
