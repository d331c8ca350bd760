import pytest

import pg_cluster
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


# -- PostgreSQL: a throwaway cluster, started once per run when a test asks for it ----------
_pg: dict = {"cluster": None, "problem": None, "tried": False}


@pytest.fixture(scope="session")
def pg_server():
    """The run's throwaway PostgreSQL cluster (tests/pg_cluster.py), started at first use and removed
    at the end. Where none can be had, every test that needs it is skipped with the reason, which the
    run also prints once at its end."""
    if not _pg["tried"]:
        _pg["tried"] = True
        try:
            _pg["cluster"] = pg_cluster.PgCluster.start()
        except pg_cluster.PgUnavailable as exc:
            _pg["problem"] = str(exc)
    if _pg["cluster"] is None:
        pytest.skip(f"PostgreSQL tests skipped: {_pg['problem']}")
    yield _pg["cluster"]


def pytest_sessionfinish(session):
    cluster, _pg["cluster"] = _pg["cluster"], None
    if cluster is not None:
        cluster.stop()


def pytest_terminal_summary(terminalreporter):
    if _pg["problem"]:
        terminalreporter.write_line(f"PostgreSQL: no throwaway cluster ({_pg['problem']}); "
                                    "the tests on PostgreSQL were skipped")


@pytest.fixture
def pg_url(pg_server, request):
    """A fresh, empty database of its own for one test (CREATE DATABASE), dropped afterwards."""
    name = f"t{next(_pg_names)}_{_short(request.node.name)}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


_pg_names = iter(range(1, 10**9))


def _short(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower())[:40]
