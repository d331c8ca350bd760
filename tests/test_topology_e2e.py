"""The distributed topology as plain processes (scripts/processes.sh, the same as compose.yaml):
`fibrocircle migrate` once, then two `fibrocircle run` processes with two shards each, against an
emulated Discord on loopback. Every server is answered by the process of its shard, and one SIGTERM
stops them all cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.shards import shard_of
from emulator.server import DEFAULT_GUILD, PERSONAS, Emulator
from emulator.session import FAKE_TOKEN
from support import OPENAPI_PATH

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "processes.sh"
SHARDS = 4
GUILDS = [DEFAULT_GUILD + (n << 22) for n in range(SHARDS)]  # one server on each shard


async def about(emulator: Emulator, guild: int):
    channel = int(emulator.find_channel(guild, "general")["id"])
    payload = emulator.interaction_payload(2, guild_id=guild, channel_id=channel, user_id=PERSONAS["member"],
                                           data={"id": "1", "name": "about", "type": 1, "options": []})
    record = await emulator.send_interaction(payload)
    await asyncio.wait_for(record.done.wait(), 30)  # a hang guard only
    return record


async def test_two_plain_processes_split_the_shards_and_stop_together(tmp_path):
    assert sorted(shard_of(g, SHARDS) for g in GUILDS) == list(range(SHARDS))
    emulator = Emulator(openapi_path=OPENAPI_PATH)
    await emulator.start()
    for guild in GUILDS:
        emulator.seed_guild(guild)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FIBRO_")},
           "DISCORD_TOKEN": FAKE_TOKEN, "FIBRO_DB_PATH": str(tmp_path / "shared.db"),
           "FIBRO_EMULATOR_URL": emulator.root_url, "FIBRO_LOG_LEVEL": "INFO",
           "FIBROCIRCLE": str(Path(sys.executable).with_name("fibrocircle"))}
    proc = await asyncio.create_subprocess_exec("bash", str(SCRIPT), "2", str(SHARDS), env=env, cwd=str(tmp_path),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        await emulator.wait_connected(timeout=120)
        assert sorted(emulator.sessions) == list(range(SHARDS))
        # Each process identified with its own range: shards 0-1 and 2-3 of 4.
        assert sorted({count for _, _, count in emulator.identifies}) == [SHARDS]
        for guild in GUILDS:
            record = await about(emulator, guild)
            assert record.response_type == 4, f"server {guild} on shard {shard_of(guild, SHARDS)} was not answered"
        assert all(not r.violations for r in emulator.requests)
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await emulator.stop()
    log = out.decode()
    assert proc.returncode == 0, log
    assert "process 1 of 2: shards 0-1 of 4" in log and "process 2 of 2: shards 2-3 of 4" in log
    assert log.count("shutting down") == 2, log
    assert "Traceback" not in log and FAKE_TOKEN not in log


async def test_the_script_refuses_fewer_shards_than_processes(tmp_path):
    proc = await asyncio.create_subprocess_exec("bash", str(SCRIPT), "3", "2", stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd=str(tmp_path))
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"SHARDS at least PROCESSES" in out
