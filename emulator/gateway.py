"""The emulated gateway: the websocket's life as Discord's documentation describes it.

A session starts with IDENTIFY (answered with READY and a GUILD_CREATE per server) and outlives
its connection: events sent while the bot is away are kept, and a RESUME on a new connection gets
them in order followed by RESUMED. Tests can ask for what Discord does on its own: op 7 (reconnect),
op 9 (invalid session), a dropped connection, a close code, and heartbeat ACKs that never come.

Each session knows its shard (`shard`, `[0, 1]` for an unsharded bot) and the servers it carries,
so routing events by shard is a matter of choosing the session in `sessions_for`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.shards import shard_of

if TYPE_CHECKING:
    from emulator.server import Emulator

log = logging.getLogger("fibrocircle.emulator.gateway")

# Opcodes (Opcodes and Status Codes > Gateway Opcodes).
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 7, 9, 10, 11

# Close codes (Opcodes and Status Codes > Gateway Close Event Codes).
UNKNOWN_ERROR = 4000              # reconnect and resume
AUTHENTICATION_FAILED = 4004      # the token in IDENTIFY is not valid: do not reconnect
INVALID_SEQ = 4007
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011          # "the session would have handled too many guilds"
DISALLOWED_INTENTS = 4014         # a privileged intent that is not enabled for the app

# Gateway > Sharding: "each shard can only support a maximum of 2500 guilds".
MAX_GUILDS_PER_SHARD = 2500

# Gateway > Privileged Intents: GUILD_PRESENCES, GUILD_MEMBERS, MESSAGE_CONTENT.
PRIVILEGED_INTENTS = {"GUILD_MEMBERS": 1 << 1, "GUILD_PRESENCES": 1 << 8, "MESSAGE_CONTENT": 1 << 15}


@dataclass
class GatewaySession:
    """One gateway session: what IDENTIFY created and a RESUME continues."""
    id: str
    shard: tuple[int, int] = (0, 1)
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    # Every event not yet confirmed by a heartbeat (whose `d` is the last sequence the bot has),
    # so that a RESUME can replay what the bot missed (Gateway > Resuming).
    unconfirmed: list[tuple[int, str]] = field(default_factory=list)
    invalid: bool = False
    resumes: int = 0
    replayed: int = 0                     # events sent again on RESUME

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    @property
    def shard_id(self) -> int:
        return self.shard[0]

    @property
    def shard_count(self) -> int:
        return self.shard[1]

    def confirm(self, seq: int | None) -> None:
        if seq is not None:
            self.unconfirmed = [(s, frame) for s, frame in self.unconfirmed if s > seq]

    def carries(self, guild_id: int) -> bool:
        """Gateway > Sharding > Sharding Formula: shard_id = (guild_id >> 22) % num_shards."""
        return shard_of(guild_id, self.shard_count) == self.shard_id


class Gateway:
    """The websocket endpoint and its sessions. `Emulator.dispatch` sends events through it."""

    def __init__(self, emulator: "Emulator") -> None:
        self.emulator = emulator
        self.heartbeat_interval_ms = 41250
        self.withhold_acks = False            # a "zombied" connection: heartbeats get no op 11
        self.privileged_intents = 0           # privileged intents enabled for the app in its settings
        self.token_valid = True               # False: IDENTIFY and RESUME are closed with 4004
        self.sessions: dict[str, GatewaySession] = {}
        self.identify_count = 0
        self.resume_count = 0
        self.close_codes: list[int] = []      # every close code the gateway sent, in order
        self.closed_sessions: list[tuple[int, int, str]] = []  # (shard id, close code, reason) per refused IDENTIFY
        self.identifies: list[tuple[float, int, int]] = []     # (time.monotonic(), shard id, shard count)
        self.heartbeats = 0
        self.ready = asyncio.Event()
        self._session_ids = 0
        self._closed_here: set[web.WebSocketResponse] = set()  # connections the gateway closed itself

    # -- what tests and the benchmark look at ----------------------------------------
    @property
    def current(self) -> GatewaySession | None:
        """The newest session that can still receive events."""
        live = [s for s in self.sessions.values() if not s.invalid]
        return live[-1] if live else None

    @property
    def connected(self) -> bool:
        session = self.current
        return session is not None and session.connected

    def sessions_for(self, guild_id: int | None) -> list[GatewaySession]:
        """The sessions that receive an event about this server; events of no server (DMs) go to
        shard 0 (Gateway > Sharding)."""
        live = [s for s in self.sessions.values() if not s.invalid]
        if guild_id is None:
            return [s for s in live if s.shard_id == 0]
        return [s for s in live if s.carries(guild_id)]

    def by_shard(self) -> dict[int, GatewaySession]:
        """The connected session of each shard."""
        return {s.shard_id: s for s in self.sessions.values() if not s.invalid and s.connected}

    def _all_shards_ready(self, shard_count: int) -> bool:
        live = self.by_shard()
        return all(n in live for n in range(shard_count))

    # -- the websocket ---------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await self._send(ws, {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        session: GatewaySession | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, data = frame.get("op"), frame.get("d")
            if op == HEARTBEAT:
                # Gateway > Sending Heartbeats: answered with op 11, unless the test withholds it.
                self.heartbeats += 1
                if session is not None:
                    session.confirm(data if isinstance(data, int) else None)
                if not self.withhold_acks:
                    await self._send(ws, {"op": HEARTBEAT_ACK})
            elif op == IDENTIFY:
                session = await self._identify(ws, data or {})
            elif op == RESUME:
                session = await self._resume(ws, data or {})
        for s in self.sessions.values():
            if s.ws is ws:
                s.ws = None
                self.ready.clear()  # a shard is down until it resumes or identifies again
                # Gateway > Disconnecting: a client's own close with 1000 or 1001 ends its session.
                if ws.close_code in (1000, 1001) and ws not in self._closed_here:
                    s.invalid = True
        self._closed_here.discard(ws)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> GatewaySession | None:
        self.identify_count += 1
        shard = tuple(data.get("shard") or (0, 1))
        shard_id, shard_count = int(shard[0]), int(shard[1])
        self.identifies.append((time.monotonic(), shard_id, shard_count))
        if not (0 <= shard_id < shard_count):
            await self._refuse(ws, shard_id, INVALID_SHARD, "Invalid shard")
            return None
        if not self.token_valid:
            await self._refuse(ws, shard_id, AUTHENTICATION_FAILED, "Authentication failed")
            return None
        intents = int(data.get("intents") or 0)
        for name, bit in PRIVILEGED_INTENTS.items():
            if intents & bit and not self.privileged_intents & bit:
                log.info("IDENTIFY asked for %s, which is not enabled", name)
                await self._refuse(ws, shard_id, DISALLOWED_INTENTS, "Disallowed intent(s)")
                return None
        session = GatewaySession(id=self._new_session_id(), shard=(shard_id, shard_count))
        guild_ids = [g for g in self.emulator.active_guild_ids() if session.carries(g)]
        if len(guild_ids) > MAX_GUILDS_PER_SHARD:
            await self._refuse(ws, shard_id, SHARDING_REQUIRED, "Sharding required")
            return None
        # A new session replaces the ones before it on the same shard, and their connections end.
        for old in self.sessions.values():
            if old.shard_id == session.shard_id and not old.invalid:
                old.invalid = True
                if old.connected and old.ws is not ws:
                    await old.ws.close()  # type: ignore[union-attr]
        self.sessions[session.id] = session
        session.ws = ws
        await self.send_event(session, "READY", {
            "v": 10, "user": self.emulator.bot_user, "session_id": session.id,
            "resume_gateway_url": self.emulator.gateway_url,
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "application": {"id": str(self.emulator.application_id), "flags": 0}, "shard": list(session.shard),
            "private_channels": [], "relationships": [], "presences": [], "guild_join_requests": [],
            "geo_ordered_rtc_regions": [], "user_settings": {},
        })
        for guild_id in guild_ids:
            await self.send_event(session, "GUILD_CREATE", self.emulator.guild_payload(guild_id))
        if self._all_shards_ready(shard_count):
            self.ready.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> GatewaySession | None:
        """Gateway > Resuming: the missed events in order, then RESUMED; a session that cannot be
        resumed gets op 9 with d=false, and the client identifies again."""
        self.resume_count += 1
        if not self.token_valid:
            await self.close(ws, AUTHENTICATION_FAILED, "Authentication failed.")
            return None
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or session.invalid:
            await self._send(ws, {"op": INVALID_SESSION, "d": False})
            return None
        if isinstance(seq, int) and seq > session.seq:
            await self.close(ws, INVALID_SEQ, "Invalid seq.")
            return None
        if session.ws is not None and session.ws is not ws and not session.ws.closed:
            await session.ws.close(code=UNKNOWN_ERROR)
        session.ws = ws
        session.resumes += 1
        session.confirm(seq if isinstance(seq, int) else None)
        for _, frame in list(session.unconfirmed):
            await ws.send_str(frame)
            session.replayed += 1
        await self.send_event(session, "RESUMED", {})
        if self._all_shards_ready(session.shard_count):
            self.ready.set()
        return session

    # -- events ----------------------------------------------------------------------
    async def dispatch(self, event: str, data: dict[str, Any], guild_id: int | None = None) -> None:
        """Send an event to the sessions that carry its server. An event for a session whose
        connection is down is kept for its RESUME, as Discord does."""
        sessions = self.sessions_for(guild_id)
        if not sessions:
            raise ConnectionError("the bot has no gateway session")
        for session in sessions:
            await self.send_event(session, event, data)

    async def send_event(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data})
        session.unconfirmed.append((session.seq, frame))
        if session.connected:
            try:
                await session.ws.send_str(frame)  # type: ignore[union-attr]
            except ConnectionError:
                pass  # the connection went down while sending: the RESUME replays it

    # -- what Discord does on its own, on request --------------------------------------
    async def request_reconnect(self) -> None:
        """Gateway Events > Reconnect (op 7): the client should reconnect and resume."""
        session = self._connected_session()
        await self._send(session.ws, {"op": RECONNECT, "d": None})  # type: ignore[arg-type]

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Gateway Events > Invalid Session (op 9): d=false ends the session (the client must
        identify again); d=true lets it resume."""
        session = self._connected_session()
        if not resumable:
            session.invalid = True
        await self._send(session.ws, {"op": INVALID_SESSION, "d": resumable})  # type: ignore[arg-type]

    async def drop_connection(self, code: int = UNKNOWN_ERROR) -> None:
        """Close the connection with this code; the session stays resumable (Gateway >
        Disconnecting: only the client's own 1000 or 1001 ends it)."""
        session = self._connected_session()
        self.ready.clear()
        await self.close(session.ws, code, "")  # type: ignore[arg-type]

    async def _refuse(self, ws: web.WebSocketResponse, shard_id: int, code: int, reason: str) -> None:
        """End an IDENTIFY with a close code (Opcodes and Status Codes > Gateway Close Event Codes)."""
        self.closed_sessions.append((shard_id, code, reason))
        await self.close(ws, code, reason)

    async def close(self, ws: web.WebSocketResponse, code: int, reason: str) -> None:
        self.close_codes.append(code)
        self._closed_here.add(ws)
        await ws.close(code=code, message=reason.encode())

    async def close_all(self) -> None:
        for session in self.sessions.values():
            if session.connected:
                await session.ws.close()  # type: ignore[union-attr]

    def _connected_session(self) -> GatewaySession:
        session = self.current
        if session is None or not session.connected:
            raise ConnectionError("the bot is not connected to the gateway")
        return session

    def _new_session_id(self) -> str:
        self._session_ids += 1
        return f"session-{self._session_ids}"

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        frame.setdefault("d", None)
        frame.setdefault("s", None)
        frame.setdefault("t", None)
        await ws.send_str(json.dumps(frame))
