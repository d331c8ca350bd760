"""`fibrocircle run` as its own process against an emulator on loopback: the real start and stop."""

import asyncio
import os
import signal
import sqlite3
import sys

import pytest

from emulator.server import DEFAULT_GUILD, PERSONAS, Emulator
from emulator.session import FAKE_TOKEN
from support import OPENAPI_PATH


async def start_bot_process(tmp_path, emulator: Emulator):
    env = {**os.environ, "DISCORD_TOKEN": FAKE_TOKEN, "FIBRO_DB_PATH": str(tmp_path / "proc.db"),
           "FIBRO_EMULATOR_URL": emulator.root_url, "FIBRO_LOG_LEVEL": "INFO"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env, cwd=str(tmp_path),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    await emulator.wait_connected(timeout=30)
    return proc


async def about(emulator: Emulator):
    channel = int(emulator.find_channel(DEFAULT_GUILD, "general")["id"])
    payload = emulator.interaction_payload(2, guild_id=DEFAULT_GUILD, channel_id=channel, user_id=PERSONAS["member"],
                                           data={"id": "1", "name": "about", "type": 1, "options": []})
    record = await emulator.send_interaction(payload)
    await asyncio.wait_for(record.done.wait(), 5)
    return record


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_run_serves_then_shuts_down_cleanly(tmp_path, sig):
    emulator = Emulator(openapi_path=OPENAPI_PATH)
    await emulator.start()
    emulator.seed_guild(DEFAULT_GUILD)
    try:
        proc = await start_bot_process(tmp_path, emulator)
        record = await about(emulator)
        assert record.response_type == 4
        assert all(not r.violations for r in emulator.requests)
        proc.send_signal(sig)
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        await emulator.stop()
    log = out.decode()
    assert proc.returncode == 0, log
    assert "shutting down" in log
    assert FAKE_TOKEN not in log
    assert "Traceback" not in log
    # Closed cleanly: the WAL was checkpointed on close and the database is whole.
    assert not (tmp_path / "proc.db-wal").exists() or (tmp_path / "proc.db-wal").stat().st_size == 0
    with sqlite3.connect(tmp_path / "proc.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM comments").fetchone()[0] == 24
