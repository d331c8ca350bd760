"""The PostgreSQL backend (bot/storage_pg.py) on a real PostgreSQL: placeholders, migrations run
once, leases with SKIP LOCKED, advisory locks, the settings cache cleared across processes, text
gone from the data files after a withdrawal and Forget me, and search comparable with SQLite's.

The cluster is the run's throwaway one (tests/pg_cluster.py, started by tests/conftest.py); without
PostgreSQL on the machine the tests that need it are skipped, saying why."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime, timezone

import pytest

from bot import posts, privacy, quotes, study
from bot.config import DATA_DIR
from bot.guild_settings import GuildSettings
from bot.ingest import load_file
from bot.storage import Database, list_migrations, open_database
from bot.storage_pg import PG_MIGRATIONS_DIR, PostgresDatabase, translate

GUILD = 1_234_567_890_123_456_789  # a real-sized Discord id: past 32 bits
ADMIN = 9_000_000_000_000_000_001


# -- placeholders (no server needed) -----------------------------------------------------------

def test_placeholders_are_numbered_outside_quotes_and_comments():
    assert translate("SELECT ? , ?") == "SELECT $1 , $2"
    assert translate("SELECT '?' , \"a?b\", ? -- why?\n, ?") == "SELECT '?' , \"a?b\", $1 -- why?\n, $2"
    assert translate("SELECT 'it''s ?', ? /* ? */ , ?") == "SELECT 'it''s ?', $1 /* ? */ , $2"
    assert translate("VALUES (?, '\"', ?)") == "VALUES ($1, '\"', $2)"
    assert translate("no placeholders") == "no placeholders"


def test_a_postgresql_url_chooses_the_postgresql_backend(tmp_path):
    assert isinstance(open_database("postgresql://u@127.0.0.1:5432/db"), PostgresDatabase)
    sqlite = open_database(tmp_path / "x.db")
    assert type(sqlite) is Database and sqlite.dialect.name == "sqlite"


def test_the_password_is_not_shown():
    assert "secret" not in repr(PostgresDatabase("postgresql://bot:secret@127.0.0.1:5432/fibro"))


# -- a real server -----------------------------------------------------------------------------

@pytest.fixture
def cluster(pg_server):
    """The run's throwaway cluster (tests/conftest.py); the tests are skipped, saying why, without one."""
    return pg_server


@pytest.fixture
async def pg(cluster):
    db = PostgresDatabase(cluster.create_database())
    await db.open()
    try:
        yield db
    finally:
        await db.close()


async def test_migrations_run_once_when_processes_start_together(cluster):
    url = cluster.create_database()
    dbs = [PostgresDatabase(url) for _ in range(3)]
    await asyncio.gather(*(d.open() for d in dbs))
    try:
        rows = await dbs[0].fetchall("SELECT version FROM schema_migrations")
        every = [version for version, _, _ in list_migrations(PG_MIGRATIONS_DIR)]
        assert sorted(r["version"] for r in rows) == every  # each once
        assert await dbs[1].schema_version() == every[-1]
        assert await dbs[2].migrate() == []
    finally:
        await asyncio.gather(*(d.close() for d in dbs))


async def test_ids_past_32_bits_and_the_interface(pg):
    await pg.set_meta("k", "v1")
    await pg.set_meta("k", "v2")
    assert await pg.get_meta("k") == "v2"
    async with pg.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO audit_log(guild_id, actor_id, action, created_at) VALUES (?, ?, 'x', 'now') RETURNING id",
            (GUILD, ADMIN))
        entry = (await cur.fetchone())[0]
        changed = await tx.execute("UPDATE audit_log SET target = ? WHERE guild_id = ?", ("t", GUILD))
        assert changed.rowcount == 1
    row = await pg.fetchone("SELECT guild_id, actor_id, target FROM audit_log WHERE id = ?", (entry,))
    assert (row["guild_id"], row[1], row["target"]) == (GUILD, ADMIN, "t")
    with pytest.raises(ZeroDivisionError):
        async with pg.transaction() as tx:
            await tx.execute("DELETE FROM audit_log")
            raise ZeroDivisionError
    assert await pg.fetchval("SELECT COUNT(*) FROM audit_log") == 1, "rolled back"
    with pytest.raises(RuntimeError, match="inside a transaction"):
        async with pg.transaction():
            async with pg.transaction():
                pass
    assert await pg.integrity_check() == "ok" and await pg.write_problem() is None


async def _approved_posts(db, n: int) -> list[int]:
    ids = []
    async with db.transaction() as tx:
        for i in range(n):
            cur = await tx.execute(
                "INSERT INTO posts(guild_id, author_id, text, state, created_at, number, publish_state, publish_next_at)"
                " VALUES (?, ?, ?, 'approved', '2026-01-01T00:00:00+00:00', ?, 'unpublished', '2026-01-01T00:00:00+00:00')"
                " RETURNING id", (GUILD, 100 + i, f"post {i}", i + 1))
            ids.append((await cur.fetchone())[0])
    return ids


async def test_two_processes_never_lease_the_same_post(pg):
    ids = await _approved_posts(pg, 40)
    other = await pg.sibling().open()
    try:
        now = datetime.now(timezone.utc)
        got: dict[str, list[int]] = {"a": [], "b": []}

        async def lease(db, name):
            for _ in range(10):
                got[name] += [p.id for p in await posts.posts_to_publish(db, now, limit=3, owner=name)]
                await asyncio.sleep(0)

        await asyncio.gather(lease(pg, "a"), lease(other, "b"), lease(pg, "a"), lease(other, "b"))
        assert not set(got["a"]) & set(got["b"])
        assert sorted(got["a"] + got["b"]) == sorted(ids), "each post leased exactly once"
        owners = {r["id"]: r["publish_owner"] for r in await pg.fetchall("SELECT id, publish_owner FROM posts")}
        assert all(owners[i] == "a" for i in got["a"]) and all(owners[i] == "b" for i in got["b"])
    finally:
        await other.close()


async def test_a_lease_passes_over_rows_another_process_holds(pg):
    ids = await _approved_posts(pg, 4)
    other = await pg.sibling().open()
    try:
        held = asyncio.Event()
        release = asyncio.Event()

        async def holder():
            async with other.transaction(serial=False) as tx:
                await tx.execute(f"SELECT id FROM posts WHERE id IN (?, ?){other.dialect.skip_locked}", ids[:2])
                held.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await held.wait()
        leased = await asyncio.wait_for(
            posts.posts_to_publish(pg, datetime.now(timezone.utc), limit=10, owner="a"), timeout=30)
        assert sorted(p.id for p in leased) == ids[2:], "the locked rows were passed over, not waited for"
        release.set()
        await task
    finally:
        await other.close()


async def test_exclusive_blocks_run_one_at_a_time_across_processes(pg):
    other = await pg.sibling().open()
    inside, most = 0, 0

    async def work(db):
        nonlocal inside, most
        async with db.exclusive("start-up"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.05)
            inside -= 1

    try:
        await asyncio.gather(work(pg), work(other), work(other), work(pg))
    finally:
        await other.close()
    assert most == 1


async def test_settings_changed_in_another_process_reach_this_ones_cache(pg):
    ours = GuildSettings(pg)
    await pg.listening()
    assert (await ours.get(GUILD)).daily_cap == 5
    other = await pg.sibling().open()
    try:
        await GuildSettings(other).set(GUILD, "daily_cap", 8, actor_id=ADMIN)
        for _ in range(300):  # the notice arrives soon after the commit; no invalidate() here
            if (await ours.get(GUILD)).daily_cap == 8:
                break
            await asyncio.sleep(0.01)
        assert (await ours.get(GUILD)).daily_cap == 8
    finally:
        await other.close()


def _files_holding(cluster, needle: str) -> list[str]:
    """Data files of the cluster (tables and indexes, not the write-ahead log) that hold `needle`."""
    found = subprocess.run(["grep", "-rl", "--binary-files=text", needle, str(cluster.data / "base")],
                           capture_output=True, text=True)
    return found.stdout.split()


async def test_withdrawn_and_forgotten_text_leaves_the_data_files(pg, cluster):
    settings = GuildSettings(pg)
    config = await settings.get(GUILD)
    withdrawn = "Quokka withdrawn text about my morning stiffness 4471"
    forgotten = "Quokka forgotten text about sleeping badly 5582"
    kept = "Quokka kept text about gentle stretching 6693"
    made = []
    for author, text in ((1, withdrawn), (2, forgotten), (3, kept)):
        made.append((await posts.submit(pg, config, guild_id=GUILD, author_id=author, author_name=None,
                                        anonymous=True, text=text, interaction_id=None)).post)
    async with pg.pool.acquire() as conn:
        await conn.execute("CHECKPOINT")
    assert all(_files_holding(cluster, t) for t in (withdrawn, forgotten, kept))

    await posts.withdraw(pg, made[0].id, author_id=1)
    assert _files_holding(cluster, withdrawn) == []
    await privacy.forget_member(pg, 2)
    assert _files_holding(cluster, forgotten) == []
    assert _files_holding(cluster, kept), "other members' text stays"


# -- search on both backends -------------------------------------------------------------------

COMMON_TOPICS = ["sleep", "pain", "fatigue", "medication", "diet", "exercise", "weather", "family",
                 "support", "mental health", "hormones", "guaifenesin", "insomnia", "opioids", "tremors",
                 "voodoo doll", "massage", "chiropractor"]


async def _best_quotes(db) -> dict[str, int | None]:
    await load_file(db, DATA_DIR / "article.txt")
    position = {r["id"]: r["position"] for r in await db.fetchall("SELECT id, position FROM comments")}
    best = {}
    for query in COMMON_TOPICS:
        result = await quotes.find_quotes(db, guild_id=GUILD, query=query, user_id=1, channel_id=None)
        best[query] = position[result.quotes[0].item_id] if result.quotes else None
    return best


async def test_search_gives_the_same_best_quote_on_both_backends(pg, tmp_path):
    async with Database(tmp_path / "sqlite.db") as lite:
        on_sqlite = await _best_quotes(lite)
    on_postgres = await _best_quotes(pg)
    assert all(v is not None for v in on_sqlite.values())
    assert on_postgres == on_sqlite


async def test_study_questions_find_the_same_sentence_on_both_backends(pg, tmp_path):
    questions = ["How many people took part?", "What did the study find about sleep?",
                 "Which drugs were tested?", "Where was the study done?", "What is fibromyalgia?"]

    async def answers(db):
        await load_file(db, DATA_DIR / "article.txt")
        found = []
        for q in questions:
            answer = await study.ask(db, q)
            found.append(answer.best.text if answer.best else None)
        return found

    async with Database(tmp_path / "sqlite.db") as lite:
        on_sqlite = await answers(lite)
    on_postgres = await answers(pg)
    assert on_postgres == on_sqlite


async def _paged_quotes(db) -> list[list[int]]:
    """A search shown to a channel, then "Another" until nothing is left: the comments' positions."""
    await load_file(db, DATA_DIR / "article.txt")
    position = {r["id"]: r["position"] for r in await db.fetchall("SELECT id, position FROM comments")}
    pages = []
    result = await quotes.find_quotes(db, guild_id=GUILD, query="sleep", user_id=1, channel_id=77, count=2)
    while result.quotes:
        pages.append([position[q.item_id] for q in result.quotes])
        result = await quotes.find_quotes(db, guild_id=GUILD, query="sleep", user_id=1, channel_id=77, count=2,
                                          another=True)
    # The channel was just given the first quote: a new search there offers another one first.
    again = await quotes.find_quotes(db, guild_id=GUILD, query="sleep", user_id=2, channel_id=77)
    pages.append([position[q.item_id] for q in again.quotes])
    return pages


async def test_another_and_the_channels_last_quote_are_the_same_on_both_backends(pg, tmp_path):
    async with Database(tmp_path / "sqlite.db") as lite:
        on_sqlite = await _paged_quotes(lite)
    on_postgres = await _paged_quotes(pg)
    shown = [p for page in on_sqlite[:-1] for p in page]
    assert len(shown) > 4 and len(set(shown)) == len(shown), "never a repeat until none are left"
    assert on_postgres == on_sqlite
