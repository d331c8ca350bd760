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
from bot.config import DEFAULT_OPENAPI_PATH  # noqa: E402
from bot.session import BotSession  # noqa: E402

OPENAPI_PATH = DEFAULT_OPENAPI_PATH if DEFAULT_OPENAPI_PATH.is_file() else None


@pytest.fixture
async def session(tmp_path):
    """A fresh database, an emulated Discord with one guild and three personas, and the real bot.

    The test fails if anything logged an ERROR (discord.py's tree and views, or the bot)."""
    async with BotSession(tmp_path / "bot.db", openapi_path=OPENAPI_PATH, quiet=0.08) as s:
        yield s
        assert s.errors == [], f"ERRORs were logged: {s.errors}"
