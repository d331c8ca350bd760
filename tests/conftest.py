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
