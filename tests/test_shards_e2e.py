"""Shards end to end: the real bot against an emulated Discord that serves several sessions.

Two bot processes (two bots on one database, each with half the shards) serve four servers: every
interaction is answered by the bot of its server's shard, every approved post is published once,
every decision is told to its author once, and no post is marked failed by the bot that does not
serve its server, on SQLite and on PostgreSQL. Past 2,500 servers, a bot that does not shard is refused (4011) and one that
shards as Discord recommends connects."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot import posts
from bot.shards import shard_of
from emulator.server import DEFAULT_GUILD, MAX_GUILDS_PER_SESSION, PERSONAS
from emulator.session import BotSession
from support import OPENAPI_PATH, channel_messages, channel_id, ready_server, share, step, wait_for

pytestmark = pytest.mark.slow

SHARDS = 4
GUILDS = [DEFAULT_GUILD + (n << 22) for n in range(SHARDS)]  # one server on each shard


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_two_processes_share_the_servers_and_do_each_job_once(tmp_path, quick_worker, backend, request):
    assert sorted(shard_of(g, SHARDS) for g in GUILDS) == list(range(SHARDS))
    # On PostgreSQL both bots share a database of their own in the run's throwaway cluster.
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    async with BotSession(tmp_path / "bot.db", openapi_path=OPENAPI_PATH, quiet=0.08, extra_guilds=tuple(GUILDS[1:]),
                          shard_count=SHARDS, shard_ids=(0, 1), database_url=url) as session:
        first = session.bot
        second = await session.start_extra_bot(shard_ids=(2, 3))
        assert first.db.dialect.name == second.db.dialect.name == backend
        emulator = session.emulator
        await emulator.wait_connected()
        assert sorted(emulator.sessions) == [0, 1, 2, 3]
        # READY and GUILD_CREATE: each bot holds the servers of its own shards only.
        assert {g.id for g in first.guilds} == {g for g in GUILDS if shard_of(g, SHARDS) in (0, 1)}
        assert {g.id for g in second.guilds} == {g for g in GUILDS if shard_of(g, SHARDS) in (2, 3)}

        for guild in GUILDS:
            await ready_server(session, guild)  # every step answered: the owning bot got each one
            await share(session, f"Heat packs on my lower back help me sleep through the night ({guild % 97}).",
                        guild_id=guild)
        for guild in GUILDS:
            post = await wait_until_queued(session, guild)
            await step(session, "@moderator /mod queue", guild_id=guild)
            decision = await posts.decide(first.db, post_id=post.id, guild_id=guild,
                                          moderator_id=PERSONAS["moderator"], approve=True)
            assert decision.post.state == "approved"
        for bot in (first, second):
            bot.get_cog("Moderation").worker.wake()

        async def all_done() -> bool:
            rows = await first.db.fetchall(
                "SELECT publish_state, author_notified FROM posts WHERE guild_id IN (?, ?, ?, ?)", GUILDS)
            return len(rows) == SHARDS and all(r[0] == "published" and r[1] is not None for r in rows)

        await wait_for(all_done)
        await asyncio.sleep(0.5)  # a second worker round in each bot: nothing more may be sent
        for bot in (first, second):
            await bot.get_cog("Moderation").worker.run_once()
        for guild in GUILDS:
            published = channel_messages(session, channel_id(session, "community-posts", guild))
            assert len(published) == 1, f"server {guild}: {len(published)} published copies"
        dms = [r for r in emulator.requests if r.method == "POST" and r.path.startswith("/channels/")
               and int(r.path.split("/")[2]) in set(emulator.dm_channels.values())]
        assert len(dms) == SHARDS, f"{len(dms)} decision DMs for {SHARDS} decisions"
        # The benchmark's count of what was sent twice agrees, and does count a copy sent again.
        assert emulator.duplicates() == {"published": 0, "dms": 0}
        again = channel_messages(session, channel_id(session, "community-posts", GUILDS[0]))[0]
        emulator._make_message(int(again["channel_id"]), {"embeds": again["embeds"]})
        assert emulator.duplicates() == {"published": 1, "dms": 0}
        failed = await first.db.fetchval("SELECT COUNT(*) FROM post_events WHERE event IN ('publish_failed', 'queue_failed')")
        assert failed == 0
        # One migration: the second bot found the schema made and recorded nothing again.
        versions = await first.db.fetchall("SELECT version FROM schema_migrations")
        assert len(versions) == len({r[0] for r in versions})
        assert session.errors == []


async def wait_until_queued(session: BotSession, guild: int) -> posts.Post:
    async def queued():
        row = await session.bot.db.fetchone(
            "SELECT id FROM posts WHERE guild_id = ? AND queue_message_id IS NOT NULL", (guild,))
        return row
    await wait_for(queued)
    row = await queued()
    return await posts.get_post(session.bot.db, row["id"])


async def test_past_2500_servers_only_a_sharded_bot_connects(tmp_path):
    count = MAX_GUILDS_PER_SESSION + 1
    many = [DEFAULT_GUILD + (n << 22) for n in range(1, count)]
    session = BotSession(tmp_path / "bot.db", openapi_path=None, quiet=0.08, extra_guilds=tuple(many),
                         shard_count=1)
    with pytest.raises(discord.ConnectionClosed) as closed:
        async with session:
            pass
    assert closed.value.code == 4011
    assert session.emulator.closed_sessions == [(0, 4011, "Sharding required")]

    # Unset, the bot runs as many shards as Discord recommends (one per 1,000 servers).
    async with BotSession(tmp_path / "bot.db", openapi_path=None, quiet=0.08, extra_guilds=tuple(many)) as sharded:
        assert sharded.bot.shard_count == 3 and sorted(sharded.emulator.sessions) == [0, 1, 2]
        assert len(sharded.bot.guilds) == count
        await step(sharded, "/about", guild_id=many[-1])
