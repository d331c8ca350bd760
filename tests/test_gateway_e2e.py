"""The gateway's life: the real bot resumes, reconnects and identifies again as Discord asks, and no
interaction sent while its connection was down is lost. Close codes Discord ends a session with
are checked with a bare websocket client, and through `fibrocircle run`."""

import asyncio
import json
import os
import sys

import aiohttp
import pytest

from emulator.gateway import AUTHENTICATION_FAILED, DISALLOWED_INTENTS, MAX_GUILDS_PER_SHARD, SHARDING_REQUIRED
from emulator.server import DEFAULT_GUILD, PERSONAS, Emulator
from emulator.session import FAKE_TOKEN
from support import OPENAPI_PATH, channel_id, wait_for

ABOUT = {"id": "1", "name": "about", "type": 1, "options": []}


def about_payload(session):
    return session.emulator.interaction_payload(2, guild_id=session.guild_id, channel_id=channel_id(session, "general"),
                                                user_id=PERSONAS["member"], data=ABOUT)


async def answered(record) -> bool:
    await asyncio.wait_for(record.done.wait(), 60)  # a hang guard only
    return record.response_type == 4


async def test_a_dropped_connection_is_resumed_and_the_missed_interaction_replayed(session):
    gateway = session.emulator.gateway
    first = gateway.current
    await gateway.drop_connection(4000)
    # Sent while the bot is away: Discord keeps it for the session and replays it on RESUME.
    record = await session.emulator.send_interaction(about_payload(session))
    assert not first.connected
    assert await answered(record)
    assert gateway.resume_count == 1 and gateway.identify_count == 1
    assert gateway.current is first and first.resumes == 1 and first.replayed >= 1
    assert gateway.close_codes == [4000]


async def test_many_interactions_while_the_connection_drops_are_all_answered(session):
    gateway = session.emulator.gateway
    records = [await session.emulator.send_interaction(about_payload(session)) for _ in range(5)]
    await gateway.drop_connection(4000)
    records += [await session.emulator.send_interaction(about_payload(session)) for _ in range(5)]
    await wait_for(lambda: all(r.done.is_set() for r in records), timeout=60)
    assert [r.response_type for r in records] == [4] * 10
    # Each answered once: a replayed event the bot had already seen is not answered twice.
    callbacks = [r for r in session.emulator.requests if r.path.endswith("/callback")]
    assert len(callbacks) == 10 and all(r.status < 300 for r in callbacks)


async def test_op_7_reconnect_resumes_the_same_session(session):
    gateway = session.emulator.gateway
    first = gateway.current
    await gateway.request_reconnect()
    await wait_for(lambda: first.resumes == 1 and first.connected, timeout=30)
    assert gateway.identify_count == 1
    assert await answered(await session.emulator.send_interaction(about_payload(session)))


@pytest.mark.parametrize("resumable", [False, True])
async def test_op_9_invalid_session(session, resumable):
    """d=false: the bot must identify again; d=true: it may resume."""
    gateway = session.emulator.gateway
    first = gateway.current
    await gateway.invalidate_session(resumable=resumable)
    if resumable:
        await wait_for(lambda: first.resumes == 1 and first.connected, timeout=30)
        assert gateway.identify_count == 1
    else:
        await wait_for(lambda: gateway.identify_count == 2 and gateway.connected, timeout=30)
        assert first.invalid and gateway.current is not first and gateway.resume_count == 0
    assert await answered(await session.emulator.send_interaction(about_payload(session)))


async def test_withheld_heartbeat_acks_make_the_bot_reconnect_and_resume(session):
    gateway = session.emulator.gateway
    # Short beats and a short patience, taken up by the next connection.
    gateway.heartbeat_interval_ms = 100
    session.bot._connection.heartbeat_timeout = 0.5
    await gateway.request_reconnect()
    await wait_for(lambda: gateway.resume_count == 1 and gateway.connected, timeout=30)
    gateway.withhold_acks = True
    beats = gateway.heartbeats
    await wait_for(lambda: gateway.resume_count >= 2, timeout=60)  # the bot gave the silent connection up
    assert gateway.heartbeats > beats and gateway.identify_count == 1
    gateway.withhold_acks = False
    assert await answered(await session.emulator.send_interaction(about_payload(session)))


async def test_a_restart_closes_with_1000_and_ends_the_session(session):
    gateway = session.emulator.gateway
    first = gateway.current
    await session.restart_bot()
    assert first.invalid and gateway.identify_count == 2 and gateway.resume_count == 0
    assert await answered(await session.emulator.send_interaction(about_payload(session)))


async def test_the_bot_asks_for_no_privileged_intent(session):
    # The emulated app has none enabled, as the README's set-up says: a privileged intent would be 4014.
    assert session.emulator.gateway.privileged_intents == 0
    assert session.emulator.gateway.close_codes == []


# -- close codes, with a bare client --------------------------------------------------------
async def identify_and_close_code(emulator: Emulator, **identify) -> int | None:
    async with aiohttp.ClientSession() as http, http.ws_connect(emulator.gateway_url) as ws:
        hello = json.loads((await ws.receive(timeout=10)).data)
        assert hello["op"] == 10
        await ws.send_str(json.dumps({"op": 2, "d": {"token": FAKE_TOKEN, "properties": {}, "intents": 1, **identify}}))
        while True:
            msg = await ws.receive(timeout=10)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return ws.close_code
            if json.loads(msg.data).get("t") == "READY":
                return None


async def started_emulator(guilds: int = 1) -> Emulator:
    emulator = await Emulator(openapi_path=OPENAPI_PATH).start()
    emulator.seed_guild(DEFAULT_GUILD)
    for n in range(1, guilds):
        emulator.add_guild(DEFAULT_GUILD + n)
    return emulator


async def test_privileged_intents_not_enabled_close_with_4014():
    emulator = await started_emulator()
    try:
        assert await identify_and_close_code(emulator, intents=1 | (1 << 15)) == DISALLOWED_INTENTS
        emulator.gateway.privileged_intents = 1 << 15
        assert await identify_and_close_code(emulator, intents=1 | (1 << 15)) is None
    finally:
        await emulator.stop()


async def test_an_unsharded_session_over_2500_servers_closes_with_4011():
    emulator = await started_emulator(MAX_GUILDS_PER_SHARD)
    try:
        assert await identify_and_close_code(emulator) is None  # 2,500 still fit one session
        emulator.add_guild(DEFAULT_GUILD + MAX_GUILDS_PER_SHARD)
        assert await identify_and_close_code(emulator) == SHARDING_REQUIRED
    finally:
        await emulator.stop()


async def test_a_rejected_token_closes_with_4004():
    emulator = await started_emulator()
    try:
        emulator.gateway.token_valid = False
        assert await identify_and_close_code(emulator) == AUTHENTICATION_FAILED
    finally:
        await emulator.stop()


async def test_run_says_plainly_when_the_gateway_refuses_the_token(tmp_path):
    emulator = await started_emulator()
    emulator.gateway.token_valid = False
    env = {**os.environ, "DISCORD_TOKEN": FAKE_TOKEN, "FIBRO_DB_PATH": str(tmp_path / "proc.db"),
           "FIBRO_EMULATOR_URL": emulator.root_url, "FIBRO_LOG_LEVEL": "WARNING"}
    try:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env, cwd=str(tmp_path),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await emulator.stop()
    log = out.decode()
    assert proc.returncode == 2, log
    assert "refused the token" in log and "Traceback" not in log and FAKE_TOKEN not in log
    assert emulator.gateway.close_codes == [AUTHENTICATION_FAILED]
