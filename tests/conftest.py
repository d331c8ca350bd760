import pytest

from bot.storage import Database


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "test.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


# -- end-to-end: the real bot against the emulator ----------------------------------------
from emulator.session import BotSession  # noqa: E402
from support import OPENAPI_PATH, OTHER_GUILD, RATE_SCALE  # noqa: E402


@pytest.fixture
async def session(tmp_path):
    """A fresh database, an emulated Discord with one guild and three personas, and the real bot.

    The test fails if anything logged an ERROR (discord.py's tree and views, or the bot). Discord's
    rate limits hold with windows ten times shorter (RATE_SCALE)."""
    async with BotSession(tmp_path / "bot.db", openapi_path=OPENAPI_PATH, quiet=0.08, rate_scale=RATE_SCALE) as s:
        yield s
        assert s.errors == [], f"ERRORs were logged: {s.errors}"


@pytest.fixture
async def two_guilds(tmp_path):
    """Like `session`, with a second server (OTHER_GUILD) seeded the same way."""
    async with BotSession(tmp_path / "bot.db", openapi_path=OPENAPI_PATH, quiet=0.08, extra_guilds=(OTHER_GUILD,),
                          rate_scale=RATE_SCALE) as s:
        yield s
        assert s.errors == [], f"ERRORs were logged: {s.errors}"


@pytest.fixture
def quick_worker(monkeypatch):
    """The post worker's pace in tests: a short round, and failed publishing retried after 1 s."""
    from cogs.moderation.worker import PostWorker

    monkeypatch.setattr(PostWorker, "interval", 0.1)
    monkeypatch.setattr(PostWorker, "retry_seconds", 1.0)
