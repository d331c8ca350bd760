"""The emulated Discord's world: servers with their channels, roles and members, users, what
each may do in a channel (Discord's permission rules), and the world kept between two runs of
`fibrocircle try --db`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


# Permission bits (Discord's documented values).
PERM = {
    "create_instant_invite": 1 << 0, "kick_members": 1 << 1, "ban_members": 1 << 2, "administrator": 1 << 3,
    "manage_channels": 1 << 4, "manage_guild": 1 << 5, "add_reactions": 1 << 6, "view_audit_log": 1 << 7,
    "view_channel": 1 << 10, "send_messages": 1 << 11, "manage_messages": 1 << 13, "embed_links": 1 << 14,
    "attach_files": 1 << 15, "read_message_history": 1 << 16, "mention_everyone": 1 << 17,
    "use_application_commands": 1 << 31, "manage_roles": 1 << 28, "moderate_members": 1 << 40,
}
MEMBER_PERMS = (PERM["view_channel"] | PERM["send_messages"] | PERM["embed_links"] | PERM["attach_files"]
                | PERM["read_message_history"] | PERM["add_reactions"] | PERM["use_application_commands"]
                | PERM["create_instant_invite"])
BOT_PERMS = MEMBER_PERMS | PERM["manage_channels"] | PERM["manage_roles"]
ADMIN_PERMS = MEMBER_PERMS | PERM["manage_guild"] | PERM["manage_channels"] | PERM["manage_roles"] | PERM["manage_messages"]
ALL_PERMS = (1 << 53) - 1

# The people of every seeded guild: `fibrocircle try` steps act as them with @member and so on.
DEFAULT_GUILD = 300_000_000_000_000_001
PERSONAS = {
    "member": 310_000_000_000_000_001,
    "moderator": 310_000_000_000_000_002,
    "admin": 310_000_000_000_000_003,
}
PERSONA_NAMES = {"member": "Robin (member)", "moderator": "Sam (moderator)", "admin": "Alex (admin)"}
PERSONA_ROLES = {"member": (), "moderator": ("Moderators",), "admin": ("Admins",)}


class WorldMixin:
    """The world's part of `Emulator`: making and reading servers, channels, roles and members."""

    # -- the world kept between runs (fibrocircle try --db) ----------------------------
    def save_world(self, path: Path) -> None:
        """Write the servers, people, channels, messages and synced commands to `path` (JSON), so
        that a later run continues the same server."""
        world = {
            "application_id": self.application_id,
            "guilds": {str(g): {**data, "members": {str(u): m for u, m in data["members"].items()}}
                       for g, data in self.guilds.items()},
            "users": {str(u): user for u, user in self.users.items()},
            "channels": {str(c): channel for c, channel in self.channels.items()},
            "messages": {str(m): message for m, message in self.messages.items()},
            "dm_channels": {str(u): c for u, c in self.dm_channels.items()},
            "closed_dms": sorted(self.closed_dms),
            "commands": self.commands,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(world))
        tmp.replace(path)

    def load_world(self, path: Path) -> None:
        """Continue the world `save_world` wrote. Guild channels stay the same objects in the guild's
        list and in `channels`, as when they were made."""
        world = json.loads(path.read_text())
        self.application_id = int(world["application_id"])
        self.bot_user = {**self.bot_user, "id": str(self.application_id)}
        self.users = {int(u): user for u, user in world["users"].items()}
        self.channels = {int(c): channel for c, channel in world["channels"].items()}
        self.guilds = {}
        for g, data in world["guilds"].items():
            data["members"] = {int(u): m for u, m in data["members"].items()}
            data["channels"] = [self.channels.get(int(c["id"]), c) for c in data["channels"]]
            self.guilds[int(g)] = data
        self.messages = {int(m): message for m, message in world["messages"].items()}
        self.dm_channels = {int(u): int(c) for u, c in world["dm_channels"].items()}
        self.closed_dms = set(world["closed_dms"])
        self.commands = world["commands"]

    # -- the world --------------------------------------------------------------------
    def add_user(self, user_id: int, name: str) -> dict[str, Any]:
        user = {"id": str(user_id), "username": name.lower().replace(" ", "_"), "discriminator": "0",
                "global_name": name, "avatar": None, "bot": False, "flags": 0}
        self.users[user_id] = user
        return user

    def add_guild(self, guild_id: int, name: str = "Fibro Friends") -> dict[str, Any]:
        """A guild with the channels and roles a support server usually has."""
        everyone = {"id": str(guild_id), "name": "@everyone", "permissions": str(MEMBER_PERMS), "position": 0,
                    "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        guild = {"id": str(guild_id), "name": name, "owner_id": "0", "icon": None, "roles": [everyone],
                 "channels": [], "members": {}, "joined_at": "2026-01-01T00:00:00+00:00", "left": False,
                 "_next_local": 1}
        self.guilds[guild_id] = guild
        bot_role = self._role(guild_id, "Fibro Circle", BOT_PERMS, position=2, managed=True)
        mods = self._role(guild_id, "Moderators", MEMBER_PERMS | PERM["manage_messages"], position=1)
        admins = self._role(guild_id, "Admins", ADMIN_PERMS, position=3)
        guild["roles"] += [bot_role, mods, admins]
        for chan in ("general", "community-posts"):
            self.add_channel(guild_id, chan)
        for chan in ("mod-queue", "mod-log"):  # staff-only, as support servers keep them
            self.add_channel(guild_id, chan, private_to=(mods["id"], admins["id"], bot_role["id"]))
        self.add_channel(guild_id, "rules", read_only=True)
        self.add_channel(guild_id, "Voice Lounge", kind=2)
        guild["members"][self.application_id] = self._member(self.bot_user, [bot_role["id"]], "2026-01-01T00:00:00+00:00")
        return guild

    def seed_guild(self, guild_id: int, name: str | None = None) -> dict[str, Any]:
        """A guild with its channels, roles and the three personas."""
        guild = self.add_guild(guild_id, name or ("Fibro Friends" if guild_id == DEFAULT_GUILD else f"Server {guild_id % 10000}"))
        for persona, user_id in PERSONAS.items():
            self.add_member(guild_id, user_id, name=PERSONA_NAMES[persona], role_names=PERSONA_ROLES[persona])
        return guild

    def _local_id(self, guild_id: int) -> int:
        """Channels and roles of a seeded guild get ids derived from the guild id (a hash, so that
        nearby guild ids never share one), so that a database kept between two runs of
        `fibrocircle try` still points at the same channels."""
        guild = self.guilds.get(guild_id)
        n = guild["_next_local"] if guild else 1
        if guild:
            guild["_next_local"] += 1
        digest = hashlib.sha256(f"{guild_id}:{n}".encode()).digest()
        return (int.from_bytes(digest[:8], "big") >> 5) | (1 << 58)  # 59-bit, like a real snowflake

    def _role(self, guild_id: int, name: str, perms: int, *, position: int, managed: bool = False) -> dict[str, Any]:
        return {"id": str(self._local_id(guild_id)), "name": name, "permissions": str(perms), "position": position,
                "color": 0, "hoist": False, "managed": managed, "mentionable": False, "flags": 0}

    def add_role(self, guild_id: int, name: str, perms: int = MEMBER_PERMS) -> dict[str, Any]:
        guild = self.guilds[guild_id]
        role = self._role(guild_id, name, perms, position=len(guild["roles"]))
        guild["roles"].append(role)
        return role

    def add_channel(self, guild_id: int, name: str, *, kind: int = 0, read_only: bool = False,
                    private_to: tuple[str, ...] = ()) -> dict[str, Any]:
        guild = self.guilds[guild_id]
        channel_id = self._local_id(guild_id)
        overwrites = []
        if private_to:  # hidden from @everyone, visible to these roles
            overwrites.append({"id": str(guild_id), "type": 0, "allow": "0", "deny": str(PERM["view_channel"])})
            overwrites += [{"id": role_id, "type": 0, "allow": str(PERM["view_channel"]), "deny": "0"} for role_id in private_to]
        if read_only:  # the bot may read but not send here
            overwrites.append({"id": str(self.application_id), "type": 1, "allow": "0",
                               "deny": str(PERM["send_messages"] | PERM["embed_links"])})
        channel = {"id": str(channel_id), "type": kind, "guild_id": str(guild_id), "name": name,
                   "position": len(guild["channels"]), "permission_overwrites": overwrites, "nsfw": False,
                   "parent_id": None, "topic": None, "last_message_id": None, "rate_limit_per_user": 0, "flags": 0}
        if kind == 2:  # voice channels carry these
            channel.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
        guild["channels"].append(channel)
        self.channels[channel_id] = channel
        return channel

    def find_channel(self, guild_id: int, name_or_id: str) -> dict[str, Any] | None:
        key = name_or_id.strip().lstrip("#").strip("<>#")
        for channel in self.guilds[guild_id]["channels"]:
            if channel["id"] == key or channel["name"].lower() == key.lower():
                return channel
        return None

    def find_role(self, guild_id: int, name_or_id: str) -> dict[str, Any] | None:
        key = name_or_id.strip().lstrip("@").strip("<>@&")
        for role in self.guilds[guild_id]["roles"]:
            if role["id"] == key or role["name"].lower().lstrip("@") == key.lower():
                return role
        return None

    def _member(self, user: dict[str, Any], role_ids: list[str], joined_at: str) -> dict[str, Any]:
        return {"user": user, "roles": role_ids, "joined_at": joined_at, "nick": None, "avatar": None,
                "deaf": False, "mute": False, "flags": 0, "pending": False, "premium_since": None,
                "communication_disabled_until": None}

    def add_member(self, guild_id: int, user_id: int, *, name: str | None = None, role_names: tuple[str, ...] = (),
                   joined_at: str = "2025-06-01T00:00:00+00:00", owner: bool = False) -> dict[str, Any]:
        user = self.users.get(user_id) or self.add_user(user_id, name or f"Member {user_id % 10000}")
        guild = self.guilds[guild_id]
        roles = [r["id"] for r in guild["roles"] if r["name"] in role_names]
        member = self._member(user, roles, joined_at)
        guild["members"][user_id] = member
        if owner:
            guild["owner_id"] = str(user_id)
        return member

    def delete_channel(self, channel_id: int) -> dict[str, Any]:
        channel = self.channels.pop(channel_id)
        guild = self.guilds[int(channel["guild_id"])]
        guild["channels"] = [c for c in guild["channels"] if c["id"] != str(channel_id)]
        return channel

    def delete_role(self, guild_id: int, role_id: int) -> None:
        guild = self.guilds[guild_id]
        guild["roles"] = [r for r in guild["roles"] if r["id"] != str(role_id)]
        for member in guild["members"].values():
            member["roles"] = [r for r in member["roles"] if r != str(role_id)]

    def base_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        if guild["left"] and user_id == self.application_id:
            return 0  # a bot removed from a server can do nothing there
        if guild["owner_id"] == str(user_id):
            return ALL_PERMS
        member = guild["members"].get(user_id)
        perms = int(guild["roles"][0]["permissions"])
        if member:
            for role in guild["roles"]:
                if role["id"] in member["roles"]:
                    perms |= int(role["permissions"])
        if perms & PERM["administrator"]:
            return ALL_PERMS
        return perms

    def channel_permissions(self, channel_id: int, user_id: int) -> int:
        channel = self.channels[channel_id]
        guild_id = int(channel["guild_id"])
        perms = self.base_permissions(guild_id, user_id)
        if perms == ALL_PERMS:
            return perms
        member = self.guilds[guild_id]["members"].get(user_id)
        role_ids = set(member["roles"]) if member else set()
        # Topics > Permissions > Permission Overwrites: the @everyone overwrite first, then every
        # role's denies together, then every role's allows together, then the member's own.
        overwrites = channel["permission_overwrites"]
        everyone = [ow for ow in overwrites if ow["id"] == str(guild_id)]
        roles = [ow for ow in overwrites if ow["type"] == 0 and ow["id"] in role_ids and ow["id"] != str(guild_id)]
        own = [ow for ow in overwrites if ow["type"] == 1 and ow["id"] == str(user_id)]
        for ow in everyone:
            perms = (perms & ~int(ow["deny"])) | int(ow["allow"])
        denied = allowed = 0
        for ow in roles:
            denied |= int(ow["deny"])
            allowed |= int(ow["allow"])
        perms = (perms & ~denied) | allowed
        for ow in own:
            perms = (perms & ~int(ow["deny"])) | int(ow["allow"])
        return perms

    def guild_payload(self, guild_id: int) -> dict[str, Any]:
        guild = self.guilds[guild_id]
        data = {k: v for k, v in guild.items() if k not in ("members", "left", "_next_local")}
        data.update({"members": list(guild["members"].values()), "member_count": len(guild["members"]),
                     "large": False, "unavailable": False, "emojis": [], "stickers": [], "features": [],
                     "threads": [], "stage_instances": [], "guild_scheduled_events": [], "voice_states": [],
                     "presences": [], "premium_tier": 0, "preferred_locale": "en-US", "verification_level": 0,
                     "default_message_notifications": 0, "explicit_content_filter": 0, "afk_timeout": 300,
                     "mfa_level": 0, "nsfw_level": 0, "system_channel_flags": 0})
        return data
