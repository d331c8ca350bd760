"""A kept database comes with its emulated server: a second `fibrocircle try --db PATH` continues
the same server (its members, the channels the bot made, the messages it posted, the commands it
synced) instead of meeting a bot that remembers things the server has forgotten."""

import logging
import os
import subprocess
import sys

from emulator.session import BotSession
from support import OPENAPI_PATH, step

NEWCOMER = 610_000_000_000_000_042
FIBRO = [sys.executable, "-m", "bot"]


def warnings_logged(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith(("fibrocircle", "discord"))
            and "voice will NOT be supported" not in r.getMessage()]


async def test_a_second_session_on_the_same_database_continues_the_same_server(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    db, world = tmp_path / "kept.db", tmp_path / "kept.db.discord.json"
    async with BotSession(db, openapi_path=OPENAPI_PATH, quiet=0.08, world_path=world) as first:
        await step(first, "@admin /config channel kind:queue channel:mod-queue")
        await step(first, "@admin /config channel kind:posts channel:community-posts")
        await step(first, "@admin /config moderator-role role:Moderators")
        await step(first, f"@{NEWCOMER} /share")
        await step(first, f"@{NEWCOMER} modal anonymous=anonymous experience=Cold mornings are the worst for my legs.")
        queue_messages = len(first.emulator.messages)
        synced = first.emulator.commands
    assert world.is_file()
    async with BotSession(db, openapi_path=OPENAPI_PATH, quiet=0.08, world_path=world) as second:
        assert len(second.emulator.messages) == queue_messages  # the queue message is still there
        assert second.emulator.commands == synced  # so the client checks still know the commands
        assert NEWCOMER in second.emulator.guilds[second.guild_id]["members"]
        approved = await step(second, "@moderator click Approve")
        assert "approved" in approved.text().lower()
        mine = await step(second, f"@{NEWCOMER} /myposts")
        assert "Cold mornings" in mine.text()
        refused = await second.run("/quote topic:sleep count:9")
        assert refused.refused
        assert second.errors == []
    assert warnings_logged(caplog) == []


def test_try_twice_on_one_database_continues_one_server_without_warnings(tmp_path):
    env = {**os.environ, "FIBRO_DB_PATH": str(tmp_path / "unused.db")}
    db = str(tmp_path / "circle.db")

    def run(*steps):
        return subprocess.run(FIBRO + ["try", "--db", db, *steps], capture_output=True, text=True, env=env, timeout=120)

    first = run("@admin /config channel kind:queue channel:mod-queue", "@admin /config moderator-role role:Moderators",
                f"@{NEWCOMER} /share", f"@{NEWCOMER} modal anonymous=anonymous experience=Cold mornings are the worst for my legs.")
    assert first.returncode == 0, first.stdout + first.stderr
    second = run("@moderator click Approve", f"@{NEWCOMER} /myposts")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "approved" in second.stdout.lower()
    assert "WARNING" not in first.stderr + second.stderr, first.stderr + second.stderr
