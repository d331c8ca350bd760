"""A small Discord on 127.0.0.1: the gateway (websocket) and the REST routes the bot uses.

It keeps a model of guilds, channels, roles, members and messages, records every request the bot
makes, checks each body against Discord's documented limits (`rules`) and its OpenAPI description
(`openapi`), and answers an invalid body the way Discord does: HTTP 400 with code 50035.
Unknown routes answer 404 and are recorded, so a gap here shows up as a failure, not as silence.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import WSMsgType, web

from emulator import rules
from emulator.gateway import MAX_GUILDS_PER_SHARD, Gateway
from emulator.openapi import OpenAPIChecker
from emulator.ratelimits import RateLimits

log = logging.getLogger("fibrocircle.emulator")

API_PREFIX = "/api/v10"
INTERACTION_DEADLINE = 3.0  # seconds Discord waits for the first response
GUILDS_PER_SHARD = 1000     # Discord recommends a shard per 1,000 servers
MAX_GUILDS_PER_SESSION = MAX_GUILDS_PER_SHARD  # past this, Discord closes a session with 4011 (sharding required)
DECISION_DM = re.compile(r"\(Post #\d+\) in (?:\*\*[^*]+\*\*|a server you're in)")
TOKEN_LIFETIME = 15 * 60    # seconds an interaction token is valid for follow-ups and edits
EPHEMERAL = 64
DISCORD_EPOCH_MS = 1420070400000

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


def json_response(data: Any, status: int = 200) -> web.Response:
    # discord.py compares Content-Type as a string: "; charset=utf-8" would break login.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def discord_error(status: int, code: int, message: str, errors: Any = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status)


@dataclass
class RecordedRequest:
    n: int
    method: str
    path: str              # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    files: list[dict[str, Any]]
    status: int = 0
    violations: list[str] = field(default_factory=list)
    interaction_id: int | None = None
    at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = {"method": self.method, "path": self.path, "status": self.status, "body": self.body}
        if self.query:
            out["query"] = self.query
        if self.files:
            out["files"] = self.files
        if self.violations:
            out["violations"] = self.violations
        return out


@dataclass
class InteractionRecord:
    id: int
    token: str
    payload: dict[str, Any]
    user_id: int
    sent_at: float
    first_response_at: float | None = None
    response_type: int | None = None
    original_message: dict[str, Any] | None = None
    modal: dict[str, Any] | None = None
    late: bool = False      # the first response came after Discord's deadline and was refused
    done: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the bot follows a deferred response up (a follow-up message or an edit of the original).
    followed_up: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def latency(self) -> float | None:
        return None if self.first_response_at is None else self.first_response_at - self.sent_at


# Interaction types and the callback types that answer them (Interactions > Receiving and
# Responding > Interaction Response Object > Interaction Callback Type).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CALLBACK_NAMES = {4: "a message", 5: "a deferred message", 6: "a deferred update", 7: "a message update",
                  8: "autocomplete choices", 9: "a modal"}


def callback_misfit(interaction_type: int, kind: int, data: dict[str, Any], *, from_message: bool) -> str | None:
    """Why this callback type cannot answer this interaction, or None."""
    name = CALLBACK_NAMES.get(kind, f"type {kind}")
    if interaction_type == AUTOCOMPLETE:
        return None if kind == 8 else f"an autocomplete interaction is answered only with choices (8), not {name}"
    if kind == 8:
        return "autocomplete choices (8) answer only an autocomplete interaction"
    if kind in (6, 7) and not (interaction_type == MESSAGE_COMPONENT or (interaction_type == MODAL_SUBMIT and from_message)):
        return f"{name} ({kind}) is only for a component's message"
    if kind == 9 and interaction_type == MODAL_SUBMIT:
        return "a modal cannot answer a modal submit"
    if kind == 5:
        # A defer carries at most the ephemeral flag: the message itself comes later.
        extra = sorted(set(data) - {"flags"})
        if extra or int(data.get("flags") or 0) & ~EPHEMERAL:
            return f"a deferred response may carry only the ephemeral flag (got {extra or data.get('flags')})"
    return None


def with_component_ids(modal: dict[str, Any]) -> dict[str, Any]:
    """Component Reference > Anatomy of a Component: a component sent without an `id` gets one,
    numbered in order through the tree; the modal submit names each component by it."""
    modal = json.loads(json.dumps(modal))
    used = set()

    def walk(node: Any, visit) -> None:
        for comp in node.get("components") or ([node["component"]] if node.get("component") else []):
            visit(comp)
            walk(comp, visit)

    walk(modal, lambda c: used.add(c["id"]) if c.get("id") is not None else None)
    counter = itertools.count(1)

    def number(comp: dict[str, Any]) -> None:
        if comp.get("id") is None:
            comp["id"] = next(n for n in counter if n not in used)

    walk(modal, number)
    return modal


@dataclass
class Fault:
    """Make matching requests fail: status 429 (with retry_after), 5xx, or answer slowly."""
    method: str
    path_prefix: str
    status: int = 500
    times: int = 1
    delay: float = 0.0
    retry_after: float = 0.05
    # Discord did the request but its answer never arrived (a proxy timeout): the change is made,
    # and the caller gets `status` all the same.
    lost_answer: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and path.startswith(self.path_prefix)


class Emulator:
    """The emulated Discord. Start with `await emulator.start()`; `base_url`/`gateway_url` point at it."""

    def __init__(self, *, openapi_path: Path | None = None, host: str = "127.0.0.1", port: int = 0,
                 rate_scale: float = 1.0):
        self.host, self.port = host, port
        self.ratelimits = RateLimits(scale=rate_scale)
        self.openapi = OpenAPIChecker(openapi_path)
        self._ids = itertools.count(1)
        self.application_id = self.snowflake()
        self.bot_user = {"id": str(self.application_id), "username": "Fibro Circle", "discriminator": "0",
                         "global_name": "Fibro Circle", "avatar": None, "bot": True, "flags": 0}
        self.guilds: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.closed_dms: set[int] = set()      # users who do not accept DMs from the bot
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}       # every message by id, in creation order
        self.interactions: dict[int, InteractionRecord] = {}
        self.requests: list[RecordedRequest] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> synced commands
        self.attachments: dict[int, bytes] = {}
        self.faults: list[Fault] = []
        self.late_responses: list[int] = []
        self.deadline = INTERACTION_DEADLINE
        self.token_lifetime = TOKEN_LIFETIME
        self.gateway = Gateway(self)
        self.shard_count: int | None = None  # what /gateway/bot recommends; None: a shard per 1,000 servers
        self.max_concurrency = 1             # identify buckets, as /gateway/bot reports them
        self._nonces: dict[tuple[int, str], int] = {}  # (channel, nonce) -> the message it created
        self._runner: web.AppRunner | None = None
        self._request_listeners: list[Callable[[RecordedRequest], None]] = []
        self.app = self._make_app()

    # -- ids and urls ---------------------------------------------------------------
    def snowflake(self) -> int:
        # A real-looking snowflake: a timestamp part and a counter, so ids sort by creation.
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._ids) & 0x3FFFFF)

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> "Emulator":
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_connected(self, timeout: float = 10.0) -> None:
        """Until every shard has a ready session."""
        await asyncio.wait_for(self.gateway.ready.wait(), timeout)

    @property
    def connected(self) -> bool:
        return self.gateway.connected

    # What tests and the benchmark read of the gateway, by shard.
    @property
    def sessions(self) -> dict[int, Any]:
        """The connected, ready session of each shard, by shard id."""
        return self.gateway.by_shard()

    @property
    def closed_sessions(self) -> list[tuple[int, int, str]]:
        return self.gateway.closed_sessions

    @property
    def identifies(self) -> list[tuple[float, int, int]]:
        return self.gateway.identifies

    @property
    def recommended_shards(self) -> int:
        if self.shard_count is not None:
            return self.shard_count
        live = sum(1 for g in self.guilds.values() if not g["left"])
        return max(1, -(-live // GUILDS_PER_SHARD))

    @property
    def all_shards_connected(self) -> bool:
        return self.gateway.ready.is_set()

    def duplicates(self) -> dict[str, int]:
        """Messages the bot sent twice: the same embeds or text again in one server channel
        (`published`: a post published twice) or in one DM channel (`dms`: an author told twice)."""
        dm_channels = set(self.dm_channels.values())
        seen: dict[tuple[int, str], int] = {}
        for message in self.messages.values():
            if message["_meta"].get("interaction_id") or message.get("author", {}).get("id") != str(self.application_id):
                continue
            channel_id = int(message["channel_id"])
            content = message.get("content") or ""
            told = DECISION_DM.search(content) if channel_id in dm_channels else None
            # A decision DM names its post and server; its wording may differ between two sends.
            key = (channel_id, told.group(0) if told else json.dumps([content, message.get("embeds")], sort_keys=True))
            seen[key] = seen.get(key, 0) + 1
        out = {"published": 0, "dms": 0}
        for (channel_id, _), n in seen.items():
            out["dms" if channel_id in dm_channels else "published"] += n - 1
        return out

    def session_for(self, guild_id: int | None) -> Any:
        """The connected session that serves a server (DMs and events of no server: shard 0's)."""
        live = [x for x in self.gateway.sessions_for(guild_id) if x.connected]
        return live[0] if live else None
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

    # -- gateway ----------------------------------------------------------------------
    def active_guild_ids(self) -> list[int]:
        return [g for g, data in self.guilds.items() if not data["left"]]

    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None = None) -> None:
        """Send a gateway event on the session of its server's shard (`guild_id`, else read from the
        event: its `guild_id`, or its `id` for GUILD_CREATE); kept for its RESUME while that
        session's connection is down."""
        if guild_id is None:
            raw = data.get("id") if event == "GUILD_CREATE" else data.get("guild_id")
            guild_id = int(raw) if raw is not None else None
        await self.gateway.dispatch(event, data, guild_id)

    async def join_guild(self, guild_id: int) -> None:
        """The bot is added to a server while running."""
        self.guilds[guild_id]["left"] = False
        payload = self.guild_payload(guild_id)
        # Discord leaves "unavailable" out when the bot joins; `false` means an outage ended instead.
        payload.pop("unavailable", None)
        await self.dispatch("GUILD_CREATE", payload)

    async def remove_channel_event(self, channel_id: int) -> None:
        channel = self.delete_channel(channel_id)
        await self.dispatch("CHANNEL_DELETE", channel)

    async def remove_role_event(self, guild_id: int, role_id: int) -> None:
        self.delete_role(guild_id, role_id)
        await self.dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild_id), "role_id": str(role_id)})

    # -- interactions -------------------------------------------------------------------
    def interaction_payload(self, kind: int, *, guild_id: int, channel_id: int, user_id: int,
                            data: dict[str, Any], message: dict[str, Any] | None = None) -> dict[str, Any]:
        interaction_id = self.snowflake()
        guild = self.guilds.get(guild_id)
        member = guild["members"].get(user_id) if guild else None
        channel = self.channels.get(channel_id) or {  # a channel the emulator has no record of, as Discord sends it
            "id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": "unknown", "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "flags": 0, "rate_limit_per_user": 0}
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(self.application_id), "type": kind,
            "token": f"itoken-{interaction_id}", "version": 1, "data": data,
            "guild_id": str(guild_id), "channel_id": str(channel_id), "channel": channel,
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)}, "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": str(self.channel_permissions(channel_id, self.application_id) if channel_id in self.channels else BOT_PERMS),
        }
        if member is not None:
            perms = self.channel_permissions(channel_id, user_id) if channel_id in self.channels else self.base_permissions(guild_id, user_id)
            payload["member"] = {**member, "permissions": str(perms)}
        else:  # a user the guild has not seen: the payload still names them
            user = self.users.get(user_id) or self.add_user(user_id, f"Visitor {user_id % 10000}")
            payload["member"] = {**self._member(user, [], "2026-11-01T00:00:00+00:00"), "permissions": str(MEMBER_PERMS)}
        if message is not None:
            payload["message"] = message
        return payload

    async def send_interaction(self, payload: dict[str, Any]) -> InteractionRecord:
        record = InteractionRecord(id=int(payload["id"]), token=payload["token"], payload=payload,
                                   user_id=int(payload["member"]["user"]["id"]), sent_at=time.perf_counter())
        self.interactions[record.id] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    # -- REST ---------------------------------------------------------------------------
    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        return app

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(int(request.match_info["id"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, headers={"Content-Type": "application/octet-stream"})

    def add_attachment(self, filename: str, data: bytes, content_type: str = "application/json") -> dict[str, Any]:
        att_id = self.snowflake()
        self.attachments[att_id] = data
        url = f"http://{self.host}:{self.port}/attachments/{att_id}/{filename}"
        return {"id": str(att_id), "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "content_type": content_type}

    def on_request(self, listener: Callable[[RecordedRequest], None]) -> None:
        self._request_listeners.append(listener)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        files: list[dict[str, Any]] = []
        if request.content_type.startswith("multipart/"):
            body = None
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    data = await part.read()
                    files.append({"field": part.name, "filename": part.filename, "size": len(data),
                                  "content": data.decode("utf-8", "replace") if len(data) < 200_000 else None})
            return body, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return {"__invalid_json__": raw[:200].decode("utf-8", "replace")}, files

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        body, files = await self._read_body(request)
        rec = RecordedRequest(n=len(self.requests) + 1, method=method, path=path, query=dict(request.query),
                              body=body, files=files, at=time.perf_counter())
        self.requests.append(rec)
        verdict = self.ratelimits.check(method, path.strip("/").split("/"))
        if verdict.retry_after is not None:
            self.ratelimits.limited.append(f"{method} {path} ({verdict.headers['X-RateLimit-Scope']})")
            response = json_response({"message": "You are being rate limited.", "retry_after": round(verdict.retry_after, 3),
                                      "global": verdict.is_global}, 429)
        else:
            try:
                response = await self._answer(rec)
            except Exception as exc:  # a bug here must not look like a bot bug
                log.exception("emulator failed on %s %s", method, path)
                response = discord_error(500, 0, f"emulator error: {exc}")
        for name, value in verdict.headers.items():
            response.headers.setdefault(name, value)
        self.ratelimits.count(response.status, dict(response.headers))
        rec.status = response.status
        for listener in self._request_listeners:
            listener(rec)
        return response

    async def _answer(self, rec: RecordedRequest) -> web.Response:
        method, path, body = rec.method, rec.path, rec.body
        for fault in self.faults:
            if fault.matches(method, path) and fault.lost_answer:
                fault.times -= 1
                await self._answer_for_real(rec, method, path, body)
                return discord_error(fault.status, 0, f"{fault.status}: the answer was lost")
            if fault.matches(method, path):
                fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status == 429:
                    # As Discord sends it: discord.py only retries a 429 that came through Discord's proxy (Via).
                    response = json_response({"message": "You are being rate limited.", "retry_after": fault.retry_after,
                                              "global": False}, 429)
                    response.headers.update({"Via": "1.1 google", "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                                             "X-RateLimit-Reset-After": str(fault.retry_after),
                                             "X-RateLimit-Bucket": "emulated", "X-RateLimit-Scope": "user"})
                    return response
                if fault.status >= 400:
                    return discord_error(fault.status, 0, f"{fault.status}: injected failure")
        return await self._answer_for_real(rec, method, path, body)

    async def _answer_for_real(self, rec: RecordedRequest, method: str, path: str, body: Any) -> web.Response:
        parts = path.strip("/").split("/")
        handler, args = self._route(method, parts)
        if handler is None:
            rec.violations.append(f"unknown route {method} {path}")
            return discord_error(404, 0, "404: Not Found")

        rec.violations += self._validate(method, path, parts, body)
        if rec.violations:
            log.warning("invalid body for %s %s: %s", method, path, rec.violations)
            return discord_error(400, 50035, "Invalid Form Body", {"_errors": [{"code": "BASE_TYPE_INVALID",
                                                                               "message": v} for v in rec.violations]})
        return await handler(rec, *args)

    def _validate(self, method: str, path: str, parts: list[str], body: Any) -> list[str]:
        problems: list[str] = []
        if body is None:
            return problems
        if parts[0] == "interactions" and parts[-1] == "callback":
            problems += rules.check_interaction_callback(body)
        elif parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            problems += rules.check_commands(body, global_scope="guilds" not in parts)
        elif (parts[0] == "channels" and "messages" in parts) or parts[0] == "webhooks":
            if method in ("POST", "PATCH"):
                problems += rules.check_message(body)
        problems += self.openapi.check(method, path, body)
        return problems

    def _route(self, method: str, p: list[str]) -> tuple[Callable[..., Awaitable[web.Response]] | None, tuple]:
        n = len(p)
        if p == ["users", "@me"] and method == "GET":
            return self._get_me, ()
        if p == ["oauth2", "applications", "@me"] and method == "GET":
            return self._get_application, ()
        if p == ["gateway", "bot"] and method == "GET":
            return self._get_gateway_bot, ()
        if p == ["users", "@me", "channels"] and method == "POST":
            return self._create_dm, ()
        if n >= 3 and p[0] == "applications" and p[-1] == "commands" and method in ("PUT", "GET"):
            scope = p[3] if n == 5 else "global"
            return (self._put_commands if method == "PUT" else self._get_commands), (scope,)
        if n == 4 and p[0] == "interactions" and p[3] == "callback" and method == "POST":
            return self._callback, (int(p[1]), p[2])
        if n >= 3 and p[0] == "webhooks":
            token = p[2]
            if n == 3 and method == "POST":
                return self._followup, (token,)
            if n == 5 and p[3] == "messages":
                return self._webhook_message, (token, p[4])
        if n >= 3 and p[0] == "channels" and p[2] == "messages":
            channel_id = int(p[1]) if p[1].isdigit() else 0
            if n == 3 and method == "POST":
                return self._create_message, (channel_id,)
            if n == 4:
                return self._channel_message, (channel_id, p[3])
        if n == 2 and p[0] == "channels" and method == "GET":
            return self._get_channel, (int(p[1]) if p[1].isdigit() else 0,)
        if n == 3 and p[0] == "guilds" and p[2] == "channels" and method in ("GET", "POST"):
            return self._guild_channels, (int(p[1]),)
        if n == 3 and p[0] == "guilds" and p[2] == "roles" and method in ("GET", "POST"):
            return self._guild_roles, (int(p[1]),)
        if n == 4 and p[0] == "guilds" and p[2] == "members" and method == "GET":
            return self._get_member, (int(p[1]), int(p[3]) if p[3].isdigit() else 0)
        return None, ()

    async def _get_me(self, rec: RecordedRequest) -> web.Response:
        return json_response(self.bot_user)

    async def _get_application(self, rec: RecordedRequest) -> web.Response:
        return json_response({"id": str(self.application_id), "name": "Fibro Circle", "icon": None,
                              "description": "Support-group companion", "bot_public": True,
                              "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                              "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
                              "team": None, "summary": "", "rpc_origins": []})

    async def _get_gateway_bot(self, rec: RecordedRequest) -> web.Response:
        return json_response({"url": f"ws://{self.host}:{self.port}/gateway", "shards": self.recommended_shards,
                              "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                                      "max_concurrency": self.max_concurrency}})

    async def _put_commands(self, rec: RecordedRequest, scope: str) -> web.Response:
        synced = []
        for command in rec.body or []:
            synced.append({**command, "id": str(self.snowflake()), "application_id": str(self.application_id),
                           "version": str(self.snowflake()), **({"guild_id": scope} if scope != "global" else {})})
        self.commands[scope] = synced
        return json_response(synced)

    def synced_command(self, name: str, guild_id: int) -> dict[str, Any] | None:
        """The chat command a member of this server sees under that name (a server's own first)."""
        for scope in (str(guild_id), "global"):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        return None

    async def _get_commands(self, rec: RecordedRequest, scope: str) -> web.Response:
        return json_response(self.commands.get(scope, []))

    # messages ------------------------------------------------------------------------
    def _make_message(self, channel_id: int, body: dict[str, Any], *, author: dict[str, Any] | None = None,
                      interaction: InteractionRecord | None = None, files: list[dict[str, Any]] | None = None,
                      ephemeral_for: int | None = None) -> dict[str, Any]:
        message_id = self.snowflake()
        flags = int(body.get("flags") or 0)
        message = {
            "id": str(message_id), "channel_id": str(channel_id), "type": 0 if interaction is None else 20,
            "author": author or self.bot_user, "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "components": body.get("components") or [], "attachments": [
                {"id": str(self.snowflake()), "filename": f.get("filename") or "file", "size": f["size"],
                 "url": "http://127.0.0.1/unused", "proxy_url": "http://127.0.0.1/unused"} for f in files or []],
            "timestamp": "2026-11-25T00:00:00+00:00", "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "pinned": False, "flags": flags,
            "application_id": str(self.application_id), "webhook_id": str(self.application_id) if interaction else None,
        }
        channel = self.channels.get(channel_id)
        if channel and channel.get("guild_id"):
            message["guild_id"] = channel["guild_id"]
        # What the emulator needs to know later (who may see it, its files): kept outside the payload.
        message["_meta"] = {"ephemeral_for": ephemeral_for if flags & 64 else None,
                            "files": files or [], "interaction_id": interaction.id if interaction else None}
        self.messages[message_id] = message
        return message

    @staticmethod
    def public(message: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in message.items() if k != "_meta"}

    async def _create_message(self, rec: RecordedRequest, channel_id: int) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return discord_error(404, 10003, "Unknown Channel")
        if channel["type"] == 1:
            user_id = int(channel["recipients"][0]["id"])
            if user_id in self.closed_dms:
                return discord_error(403, 50007, "Cannot send messages to this user")
        else:
            perms = self.channel_permissions(channel_id, self.application_id)
            if not (perms & PERM["view_channel"]) or not (perms & PERM["send_messages"]):
                return discord_error(403, 50013, "Missing Permissions")
            if (rec.body or {}).get("embeds") and not perms & PERM["embed_links"]:
                return discord_error(403, 50013, "Missing Permissions")
            if channel["type"] not in (0, 5):
                return discord_error(400, 50008, "Cannot send messages in a non-text channel")
        body = rec.body or {}
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # As Discord does: the same nonce from the same author in this channel within a few minutes
            # returns the message already made instead of a second one.
            for earlier in self.messages.values():
                if (earlier["channel_id"] == str(channel_id) and earlier.get("nonce") == str(nonce)
                        and earlier["author"]["id"] == self.bot_user["id"]):
                    return json_response(self.public(earlier))
        message = self._make_message(channel_id, body, files=rec.files)
        if nonce is not None:
            message["nonce"] = str(nonce)
        return json_response(self.public(message))

    async def _channel_message(self, rec: RecordedRequest, channel_id: int, message_ref: str) -> web.Response:
        message = self.messages.get(int(message_ref)) if message_ref.isdigit() else None
        if message is None or message["channel_id"] != str(channel_id):
            return discord_error(404, 10008, "Unknown Message")
        if rec.method == "GET":
            return json_response(self.public(message))
        if rec.method == "DELETE":
            self.messages.pop(int(message_ref), None)
            return web.Response(status=204)
        if rec.method == "PATCH":
            self._apply_edit(message, rec.body or {}, rec.files)
            return json_response(self.public(message))
        return discord_error(405, 0, "405: Method Not Allowed")

    def _apply_edit(self, message: dict[str, Any], body: dict[str, Any], files: list[dict[str, Any]]) -> None:
        for key in ("content", "embeds", "components", "flags"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if files:
            message["_meta"]["files"] = files
        message["edited_timestamp"] = "2026-11-25T00:00:01+00:00"

    async def _get_channel(self, rec: RecordedRequest, channel_id: int) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return discord_error(404, 10003, "Unknown Channel")
        return json_response(channel)

    async def _create_dm(self, rec: RecordedRequest) -> web.Response:
        user_id = int((rec.body or {}).get("recipient_id", 0))
        user = self.users.get(user_id)
        if user is None:
            return discord_error(400, 50033, "Invalid Recipient(s)")
        if user_id not in self.dm_channels:
            channel_id = self.snowflake()
            self.channels[channel_id] = {"id": str(channel_id), "type": 1, "recipients": [user],
                                         "last_message_id": None, "flags": 0}
            self.dm_channels[user_id] = channel_id
        return json_response(self.channels[self.dm_channels[user_id]])

    async def _guild_channels(self, rec: RecordedRequest, guild_id: int) -> web.Response:
        if guild_id not in self.guilds:
            return discord_error(404, 10004, "Unknown Guild")
        if rec.method == "GET":
            return json_response(self.guilds[guild_id]["channels"])
        if not self.base_permissions(guild_id, self.application_id) & PERM["manage_channels"]:
            return discord_error(403, 50013, "Missing Permissions")
        body = rec.body or {}
        # Guild > Create Guild Channel: "Only permissions your bot has in the guild ... can be
        # allowed/denied" in its permission overwrites.
        bot_perms = self.base_permissions(guild_id, self.application_id)
        for ow in body.get("permission_overwrites") or []:
            beyond = (int(ow.get("allow", 0)) | int(ow.get("deny", 0))) & ~bot_perms
            if beyond:
                return discord_error(403, 50013, "Missing Permissions")
        channel = self.add_channel(guild_id, body.get("name", "channel"), kind=int(body.get("type") or 0))
        channel["permission_overwrites"] = [
            {"id": str(o["id"]), "type": int(o.get("type", 0)), "allow": str(o.get("allow", 0)), "deny": str(o.get("deny", 0))}
            for o in body.get("permission_overwrites") or []]
        channel["topic"] = body.get("topic")
        await self.dispatch("CHANNEL_CREATE", channel)
        return json_response(channel, 201)

    async def _guild_roles(self, rec: RecordedRequest, guild_id: int) -> web.Response:
        if guild_id not in self.guilds:
            return discord_error(404, 10004, "Unknown Guild")
        if rec.method == "GET":
            return json_response(self.guilds[guild_id]["roles"])
        if not self.base_permissions(guild_id, self.application_id) & PERM["manage_roles"]:
            return discord_error(403, 50013, "Missing Permissions")
        body = rec.body or {}
        role = self.add_role(guild_id, body.get("name", "new role"), int(body.get("permissions") or 0))
        await self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role})
        return json_response(role)

    async def _get_member(self, rec: RecordedRequest, guild_id: int, user_id: int) -> web.Response:
        member = self.guilds.get(guild_id, {}).get("members", {}).get(user_id)
        if member is None:
            return discord_error(404, 10007, "Unknown Member")
        return json_response(member)

    # interaction responses -------------------------------------------------------------
    def _interaction_for_token(self, token: str) -> InteractionRecord | None:
        if token.startswith("itoken-") and token[7:].isdigit():
            return self.interactions.get(int(token[7:]))
        return None

    async def _callback(self, rec: RecordedRequest, interaction_id: int, token: str) -> web.Response:
        record = self.interactions.get(interaction_id)
        if record is None or record.token != token:
            return discord_error(404, 10062, "Unknown interaction")
        rec.interaction_id = interaction_id
        if record.response_type is not None:
            return discord_error(400, 40060, "Interaction has already been acknowledged.")
        # The response arrived when its request did: the emulator's own checks are not the bot's time.
        now = rec.at
        kind = int(rec.body["type"])
        data = rec.body.get("data") or {}
        if now - record.sent_at > self.deadline:
            # Interactions > Receiving and Responding > Responding to an Interaction: the first
            # response must come within 3 seconds, or the token is invalidated; a late one is
            # answered 10062 and the member has already seen "This interaction failed".
            self.late_responses.append(interaction_id)
            rec.violations.append(f"first response after {now - record.sent_at:.2f}s; Discord allows {self.deadline:g}s")
            record.late = True
            record.done.set()
            return discord_error(404, 10062, "Unknown interaction")
        if (too_big := self._upload_too_big(record, rec)) is not None:
            return too_big
        misfit = callback_misfit(int(record.payload["type"]), kind, data, from_message="message" in record.payload)
        if misfit:
            rec.violations.append(misfit)
            return discord_error(400, 50035, "Invalid Form Body", {"type": {"_errors": [
                {"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": misfit}]}})
        record.first_response_at = now
        record.response_type = kind
        record.done.set()
        channel_id = int(record.payload["channel_id"])
        resource: dict[str, Any] = {"type": kind}
        message_id = None
        if kind in (4, 5):
            body = data if kind == 4 else {"content": "", "flags": data.get("flags", 0)}
            message = self._make_message(channel_id, body, interaction=record, files=rec.files,
                                         ephemeral_for=record.user_id)
            message["_meta"]["loading"] = kind == 5
            record.original_message = message
            resource["message"] = self.public(message)
            message_id = message["id"]
        elif kind == 7:  # edit the message the button was on
            target = self.messages.get(int(record.payload.get("message", {}).get("id", 0)))
            if target is not None:
                self._apply_edit(target, data, rec.files)
                record.original_message = target
                resource["message"] = self.public(target)
                message_id = target["id"]
        elif kind == 6:
            target = self.messages.get(int(record.payload.get("message", {}).get("id", 0)))
            record.original_message = target
        elif kind == 9:
            record.modal = with_component_ids(data)
        if rec.query.get("with_response") not in ("true", "True", "1"):
            return web.Response(status=204)
        flags = int(data.get("flags") or 0)
        return json_response({
            "interaction": {"id": str(interaction_id), "type": record.payload["type"],
                            "response_message_id": message_id, "response_message_loading": kind == 5,
                            "response_message_ephemeral": bool(flags & 64)},
            "resource": resource if kind in (4, 5, 7, 9) else None,
        })

    def _upload_too_big(self, record: InteractionRecord, rec: RecordedRequest) -> web.Response | None:
        """Interactions > Interaction Object: `attachment_size_limit`, the largest upload (in bytes)
        an answer to this interaction may carry."""
        limit = int(record.payload.get("attachment_size_limit") or 0)
        too_big = [f for f in rec.files if limit and f["size"] > limit]
        if not too_big:
            return None
        rec.violations.append(f"{too_big[0]['filename']} is {too_big[0]['size']:,} bytes; this interaction allows {limit:,}")
        return discord_error(413, 40005, "Request entity too large")

    def _token_expired(self, record: InteractionRecord, rec: RecordedRequest) -> web.Response | None:
        """Interactions > Receiving and Responding: "Interaction tokens are valid for 15 minutes"."""
        if rec.at - record.sent_at <= self.token_lifetime:
            return None
        rec.violations.append(f"the interaction token was used {rec.at - record.sent_at:.0f}s after the interaction; "
                              f"it lasts {self.token_lifetime:g}s")
        return discord_error(401, 50027, "Invalid Webhook Token")

    async def _followup(self, rec: RecordedRequest, token: str) -> web.Response:
        record = self._interaction_for_token(token)
        if record is None or record.response_type is None:
            return discord_error(404, 10015, "Unknown Webhook")
        rec.interaction_id = record.id
        if (expired := self._token_expired(record, rec)) is not None:
            return expired
        if (too_big := self._upload_too_big(record, rec)) is not None:
            return too_big
        body = rec.body or {}
        original = record.original_message
        if original is not None and original["_meta"].get("loading") and int(original["id"]) in self.messages:
            # Interactions > Receiving and Responding > Followup Messages: after a deferred response
            # (type 5) the first follow-up edits the "thinking" message, which keeps the privacy the
            # defer gave it; the follow-up's own ephemeral flag is ignored.
            wanted, deferred = int(body.get("flags") or 0) & 64, int(original["flags"]) & 64
            if wanted != deferred:
                rec.violations.append(
                    f"a {'private' if wanted else 'public'} follow-up fills the {'private' if deferred else 'public'} "
                    "deferred reply: Discord ignores its ephemeral flag and shows it "
                    f"{'only to the member' if deferred else 'to the whole channel'}")
            self._apply_edit(original, {k: v for k, v in body.items() if k != "flags"}, rec.files)
            original["_meta"]["loading"] = False
            record.followed_up.set()
            return json_response(self.public(original))
        message = self._make_message(int(record.payload["channel_id"]), body, interaction=record,
                                     files=rec.files, ephemeral_for=record.user_id)
        record.followed_up.set()
        return json_response(self.public(message))

    async def _webhook_message(self, rec: RecordedRequest, token: str, ref: str) -> web.Response:
        record = self._interaction_for_token(token)
        if record is None:
            return discord_error(404, 10015, "Unknown Webhook")
        rec.interaction_id = record.id
        if (expired := self._token_expired(record, rec)) is not None:
            return expired
        if ref == "@original":
            message = record.original_message
        else:
            message = self.messages.get(int(ref)) if ref.isdigit() else None
        if message is None:
            return discord_error(404, 10008, "Unknown Message")
        if rec.method == "GET":
            return json_response(self.public(message))
        if rec.method == "DELETE":
            self.messages.pop(int(message["id"]), None)
            return web.Response(status=204)
        if rec.method == "PATCH":
            self._apply_edit(message, rec.body or {}, rec.files)
            message["_meta"]["loading"] = False
            record.followed_up.set()
            return json_response(self.public(message))
        return discord_error(405, 0, "405: Method Not Allowed")
