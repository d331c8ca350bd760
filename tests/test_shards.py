"""Shards: which servers a process serves, and identify turns shared through the database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot import posts
from bot.guild_settings import GuildSettings
from bot.posts import PUBLISH_LEASE_SECONDS
from bot.shards import OwnShards, parse_shard_ids, reserve_identify, shard_of

T = 1_800_000_000.0


def guild_on(shard: int, count: int, n: int = 1) -> int:
    """A server id that Discord's formula puts on `shard`."""
    return ((1000 + n) * count + shard) << 22 | 77


def test_discords_formula_and_ranges():
    assert shard_of(guild_on(3, 8), 8) == 3 and shard_of(guild_on(0, 8, 5), 8) == 0
    assert parse_shard_ids("0-2,5", 8) == (0, 1, 2, 5)
    with pytest.raises(ValueError, match="does not exist"):
        parse_shard_ids("7-8", 8)


def test_a_process_owns_only_its_shards_and_shard_0_owns_jobs_of_no_server():
    low, high = OwnShards.of(4, [0, 1]), OwnShards.of(4, [2, 3])
    for g in (guild_on(s, 4, n) for s in range(4) for n in range(3)):
        assert low.owns(g) != high.owns(g)
    assert low.owns(None) and not high.owns(None)
    assert OwnShards.of(None).everything and OwnShards.of(1).where() == ("", [])


async def test_worker_queries_return_only_the_processs_own_servers(db):
    settings = GuildSettings(db)
    mine, theirs = guild_on(1, 4), guild_on(2, 4)
    decided = {}
    for guild in (mine, theirs):
        config = await settings.get(guild)
        shared = await posts.submit(
            db, config, guild_id=guild, author_id=5, author_name="Robin", anonymous=True,
            text="Warm baths in the evening help my legs more than anything else I have tried.",
            topic_hint=None, interaction_id=guild % 100_000, member_joined_at=None)
        decided[guild] = (await posts.decide(db, post_id=shared.post.id, guild_id=guild, moderator_id=9,
                                             approve=True)).post
    own = OwnShards.of(4, [0, 1])
    later = decided[mine].decided_at
    due = await posts.posts_to_publish(db, later, shards=own)
    assert [p.guild_id for p in due] == [mine]
    assert [p.guild_id for p in await posts.decisions_to_notify(db, shards=own)] == [mine]
    other = OwnShards.of(4, [2, 3])
    assert [p.guild_id for p in await posts.decisions_to_notify(db, shards=other)] == [theirs]
    # The other process still finds its own post due: the first one's lease did not take it.
    assert [p.guild_id for p in await posts.posts_to_publish(db, later, shards=other)] == [theirs]
    # Withdrawn text in a published message is removed by the process of that server only.
    await posts.mark_published(db, decided[theirs].id, 4242, channel_id=99)
    await posts.withdraw(db, post_id=decided[theirs].id, guild_id=theirs, author_id=5)
    far = (await posts.get_post(db, decided[theirs].id)).decided_at
    assert await posts.messages_to_remove(db, shards=own, now=_later(far)) == []
    assert [m.message_id for m in await posts.messages_to_remove(db, shards=other, now=_later(far))] == [4242]


def _later(iso: str):
    from datetime import datetime
    return datetime.fromisoformat(iso) + timedelta(days=1)


async def test_identify_turns_are_shared_by_everyone_on_the_database(db, tmp_path):
    # Two processes on one database: the second sees the first one's turn and waits for the next.
    async with db.sibling() as other:
        assert await reserve_identify(db, 0, 5.0, now=T) == 0
        assert await reserve_identify(other, 0, 5.0, now=T + 1) == pytest.approx(4.0)
        assert await reserve_identify(db, 0, 5.0, now=T + 1) == pytest.approx(9.0)
        # Another bucket (max_concurrency > 1) has its own turns.
        assert await reserve_identify(other, 1, 5.0, now=T + 1) == 0
        # Once the turns are past, no wait.
        assert await reserve_identify(db, 0, 5.0, now=T + 60) == 0


async def test_processes_starting_together_apply_each_migration_once(tmp_path):
    import asyncio

    from bot.storage import Database, list_migrations

    path = tmp_path / "shared.db"
    bases = [Database(path) for _ in range(3)]
    try:
        outcomes = await asyncio.gather(*(b.open() for b in bases), return_exceptions=True)
        assert [o for o in outcomes if isinstance(o, BaseException)] == []
        rows = await bases[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [v for v, _, _ in list_migrations()]
    finally:
        for b in bases:
            await b.close()


async def test_decision_dms_and_publishing_are_leased_to_one_process(db):
    settings = GuildSettings(db)
    guild = guild_on(0, 1)
    shared = await posts.submit(
        db, await settings.get(guild), guild_id=guild, author_id=5, author_name="Robin", anonymous=True,
        text="Slow walks by the river in the morning help my stiffness more than anything.",
        topic_hint=None, interaction_id=4711, member_joined_at=None)
    post = (await posts.decide(db, post_id=shared.post.id, guild_id=guild, moderator_id=9, approve=True)).post
    at = datetime.fromisoformat(post.decided_at)

    # One DM per decision: the second process finds the DM leased to the first.
    assert [p.id for p in await posts.decisions_to_notify(db, at, owner="a")] == [post.id]
    assert await posts.decisions_to_notify(db, at + timedelta(seconds=5), owner="b") == []
    # A failure that may pass: retried after the pause, in the database (a restart forgets nothing).
    assert await posts.mark_notify_failed(db, post.id, 60, now=at, owner="b") is False  # not b's lease
    assert await posts.mark_notify_failed(db, post.id, 60, now=at, owner="a") is True
    assert await posts.decisions_to_notify(db, at + timedelta(seconds=59), owner="b") == []
    assert [p.id for p in await posts.decisions_to_notify(db, at + timedelta(seconds=60), owner="b")] == [post.id]
    assert await posts.mark_author_notified(db, post.id, True)
    assert await posts.decisions_to_notify(db, at + timedelta(days=1), owner="a") == []

    # Publishing: a process whose lease ran out does not mark failed a post another one holds.
    assert [p.id for p in await posts.posts_to_publish(db, at, owner="a")] == [post.id]
    assert await posts.posts_to_publish(db, at + timedelta(seconds=5), owner="b") == []
    retaken = await posts.posts_to_publish(db, at + timedelta(seconds=PUBLISH_LEASE_SECONDS + 1), owner="b")
    assert [p.id for p in retaken] == [post.id]
    assert await posts.mark_publish_failed(db, post.id, "I'm not connected to that server", owner="a") is None
    assert (await posts.get_post(db, post.id)).publish_state == "unpublished"
    assert (await posts.mark_publish_failed(db, post.id, "Discord is down", owner="b")).publish_state == "failed"


async def test_start_up_work_runs_in_one_process_at_a_time(db):
    import asyncio

    order: list[str] = []

    async def start_up(name: str) -> None:
        async with db.exclusive("start-up"):  # each call opens the lock file anew, as a process does
            order.append(f"{name} begins")
            await asyncio.sleep(0.05)
            order.append(f"{name} ends")

    await asyncio.gather(start_up("a"), start_up("b"))
    assert order in (["a begins", "a ends", "b begins", "b ends"], ["b begins", "b ends", "a begins", "a ends"])


def test_fibrocircle_migrate_prepares_the_database_once(tmp_path):
    import subprocess
    import sys

    from bot.storage import list_migrations

    path = tmp_path / "shared.db"
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "bot", "migrate", "--db", str(path)],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert f"schema v{max(v for v, _, _ in list_migrations())}" in out.stdout
    import sqlite3
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] >= 1
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert len(versions) == len(set(versions)) == len(list_migrations())
