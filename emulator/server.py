"""A small Discord on 127.0.0.1: the gateway (websocket) and the REST routes the bot uses.

It keeps a model of guilds, channels, roles, members and messages, records every request the bot
makes, checks each body against Discord's documented limits (`rules`) and its OpenAPI description
(`openapi`), and answers an invalid body the way Discord does: HTTP 400 with code 50035.
Unknown routes answer 404 and are recorded, so a gap here shows up as a failure, not as silence.

`Emulator` is put together from its parts: the world (`world`), the REST front that records,
limits, checks and routes each request (`rest`), and the route handlers by area (`application`,
`messages`, `guilds`, `interactions`); the gateway is `gateway`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from emulator.application import ApplicationRoutes
from emulator.gateway import MAX_GUILDS_PER_SHARD, Gateway
from emulator.guilds import GuildRoutes
from emulator.interactions import INTERACTION_DEADLINE, TOKEN_LIFETIME, InteractionRecord, InteractionRoutes
from emulator.messages import MessageRoutes
from emulator.openapi import OpenAPIChecker
from emulator.ratelimits import RateLimits
from emulator.rest import API_PREFIX, Fault, RecordedRequest, RestMixin, discord_error, json_response
from emulator.world import (ADMIN_PERMS, ALL_PERMS, BOT_PERMS, DEFAULT_GUILD, MEMBER_PERMS, PERM, PERSONA_NAMES,
                            PERSONA_ROLES, PERSONAS, WorldMixin)

__all__ = [
    "ADMIN_PERMS", "ALL_PERMS", "API_PREFIX", "BOT_PERMS", "DEFAULT_GUILD", "Emulator", "Fault", "InteractionRecord",
    "MAX_GUILDS_PER_SESSION", "MEMBER_PERMS", "PERM", "PERSONAS", "PERSONA_NAMES", "PERSONA_ROLES",
    "RecordedRequest", "discord_error", "json_response",
]

GUILDS_PER_SHARD = 1000     # Discord recommends a shard per 1,000 servers
MAX_GUILDS_PER_SESSION = MAX_GUILDS_PER_SHARD  # past this, Discord closes a session with 4011 (sharding required)
DECISION_DM = re.compile(r"\(Post #\d+\) in (?:\*\*[^*]+\*\*|a server you're in)")
DISCORD_EPOCH_MS = 1420070400000


class Emulator(WorldMixin, RestMixin, ApplicationRoutes, MessageRoutes, GuildRoutes, InteractionRoutes):
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

    async def leave_guild(self, guild_id: int) -> None:
        """The bot is removed from a server while running (kicked, banned, or the server deleted):
        GUILD_DELETE without `unavailable`, which Discord sets only for an outage."""
        await self.dispatch("GUILD_DELETE", {"id": str(guild_id)}, guild_id=guild_id)
        self.guilds[guild_id]["left"] = True

    async def remove_channel_event(self, channel_id: int) -> None:
        channel = self.delete_channel(channel_id)
        await self.dispatch("CHANNEL_DELETE", channel)

    async def remove_role_event(self, guild_id: int, role_id: int) -> None:
        self.delete_role(guild_id, role_id)
        await self.dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild_id), "role_id": str(role_id)})
