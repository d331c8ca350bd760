"""The server's settings are read once per interaction, whatever steps it takes (the checks, the
command, the core, the error handler, the log channel): counted through the real bot against the
emulator."""

from __future__ import annotations

import traceback

import pytest

from bot.guild_settings import GuildSettings
from support import ready_server, share, step

pytestmark = pytest.mark.usefixtures("quick_worker")


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """The servers whose settings were read, one entry a read, outside the background worker (its
    rounds read them for each job, whatever a member does)."""
    counted: list[int] = []
    original = GuildSettings.get

    async def get(self, guild_id: int):
        if not any(frame.filename.endswith("worker.py") for frame in traceback.extract_stack()):
            counted.append(guild_id)
        return await original(self, guild_id)

    monkeypatch.setattr(GuildSettings, "get", get)
    return counted


async def reads_of(reads: list[int], session, text: str) -> int:
    before = len(reads)
    await step(session, text)
    return len(reads) - before


async def test_each_interaction_reads_the_settings_once(session, reads):
    await ready_server(session)
    assert await reads_of(reads, session, "@member /share") == 1
    assert await reads_of(reads, session, "@member modal experience=Brain fog made me miss my bus stop twice. anonymous=Yes") == 1
    # A refusal is audited and mirrored to the log channel with the settings its check read.
    assert await reads_of(reads, session, "@member click Approve") == 1
    assert await reads_of(reads, session, "@moderator click Block author") == 1
    assert await reads_of(reads, session, "@moderator /mod unblock member:@member") == 1
    assert await reads_of(reads, session, "@moderator click Approve") == 1
    assert await reads_of(reads, session, "@member /quote topic:sleep") == 1
    assert await reads_of(reads, session, "@member /quote topic:xylophone") == 1   # nothing found: topics suggested
    assert await reads_of(reads, session, "@member /topics") == 1
    assert await reads_of(reads, session, "@member /study ask question:What helps with sleep?") == 1
    assert await reads_of(reads, session, "@admin /config show") == 1
    # A change is read back once after it is written, for the reply and the log channel.
    assert await reads_of(reads, session, "@admin /config posting daily_cap:3") == 1
    assert all(guild == session.guild_id for guild in reads)
