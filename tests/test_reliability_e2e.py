"""Nothing a member submitted is lost: under load, on redelivery, and when the bot process is killed.

The bot runs for real; in the kill test it is its own process (`python -m bot run`), killed with
SIGKILL at random moments while forms stream in, against an emulator in this process.
"""

import asyncio
import os
import random
import signal
import sqlite3
import sys

from emulator.server import DEFAULT_GUILD, Emulator
from emulator.session import FAKE_TOKEN, BotSession
from support import OPENAPI_PATH, share_form, step, wait_for

THANKS = "Thank you for sharing"


def thanks_by_interaction(emulator: Emulator) -> dict[int, int]:
    """How many 'thank you' acknowledgements each interaction got."""
    counts: dict[int, int] = {}
    for req in emulator.requests:
        if req.interaction_id and req.method == "POST" and req.path.startswith("/webhooks/") \
                and THANKS in ((req.body or {}).get("content") or ""):
            counts[req.interaction_id] = counts.get(req.interaction_id, 0) + 1
    return counts


async def test_a_thousand_members_submit_at_once(session):
    emu = session.emulator
    members = [600_000_000_000_000_000 + n for n in range(1000)]
    for uid in members:
        emu.add_member(session.guild_id, uid)
    # Every member opens the form (the bot's own modal), then all submit at the same moment.
    opened = await session.run(f"@{members[0]} /share")
    assert opened.answered and opened.violations == []
    payloads = [share_form(emu, uid, f"Member {uid % 10000} writes about sleep and flares, day {n}.",
                           form=str(900_000 + n)) for n, uid in enumerate(members)]
    # What is asserted is that nothing is lost and nothing is done twice, however long this machine
    # takes: Discord's 3 seconds for the first answer are a matter of speed, which the benchmark
    # measures. The bot is waited for by what it has done, never by the clock (the long timeouts
    # only keep a broken run from hanging).
    emu.deadline = float("inf")
    records = await asyncio.gather(*(emu.send_interaction(p) for p in payloads))
    await wait_for(lambda: all(r.done.is_set() for r in records), timeout=600)
    await wait_for(lambda: len(thanks_by_interaction(emu)) == len(members), timeout=600)
    await session.settle(cap=600)  # anything still on its way (a second thank-you would show here)
    assert all(r.response_type == 5 for r in records)  # each deferred once
    thanks = thanks_by_interaction(emu)
    assert len(thanks) == 1000 and set(thanks.values()) == {1}, "each acknowledged exactly once"
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts WHERE state = 'pending'") == 1000
    assert await session.bot.db.fetchval("SELECT COUNT(DISTINCT author_id) FROM posts") == 1000
    assert all(not r.violations for r in emu.requests)


async def test_the_same_interaction_delivered_twice_makes_one_post(session):
    emu = session.emulator
    payload = share_form(emu, 610_000_000_000_000_001, "Delivered twice by a flaky network, about my sleep.", form="77")
    first = await session.run_payload(payload)
    assert first.answered and first.violations == [] and first.errors == []
    await emu.dispatch("INTERACTION_CREATE", payload)  # Discord sends it again
    await session.settle()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 1
    assert thanks_by_interaction(emu) == {int(payload["id"]): 1}
    assert session.errors == []


async def test_queue_buttons_work_after_a_restart(session):
    for command in ("/config channel kind:queue channel:mod-queue", "/config moderator-role role:Moderators"):
        await step(session, f"@admin {command}")
    await step(session, "@member /share")
    await step(session, "@member modal anonymous=anonymous experience=Cold weather makes my legs ache all night long.")
    await session.restart_bot()
    approved = await step(session, "@moderator click Approve")
    assert "approved" in approved.text().lower()
    assert await session.bot.db.fetchval("SELECT state FROM posts") == "approved"


async def test_sigkill_while_posts_stream_in_loses_nothing_acknowledged(tmp_path):
    rng = random.Random(20261125)
    db_path = tmp_path / "killed.db"
    emulator = Emulator(openapi_path=OPENAPI_PATH)
    await emulator.start()
    emulator.seed_guild(DEFAULT_GUILD)
    env = {**os.environ, "DISCORD_TOKEN": FAKE_TOKEN, "FIBRO_DB_PATH": str(db_path),
           "FIBRO_EMULATOR_URL": emulator.root_url, "FIBRO_LOG_LEVEL": "WARNING"}
    sent: list[int] = []
    n = 0
    try:
        for round_no in range(10):
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env, cwd=str(tmp_path),
                                                        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await emulator.wait_connected(timeout=30)
            kill_at = asyncio.get_running_loop().time() + rng.uniform(0.05, 0.6)
            while asyncio.get_running_loop().time() < kill_at:
                n += 1
                uid = 620_000_000_000_000_000 + n  # a new member each time: no cooldown in the way
                emulator.add_member(DEFAULT_GUILD, uid)
                payload = share_form(emulator, uid, f"Round {round_no} post {n}: the cold and my sleep.", form=f"k{n}")
                await emulator.send_interaction(payload)
                sent.append(int(payload["id"]))
                await asyncio.sleep(rng.uniform(0.0, 0.02))
            # A burst right before the kill, so that it lands while posts are being stored.
            for _ in range(30):
                n += 1
                uid = 620_000_000_000_000_000 + n
                emulator.add_member(DEFAULT_GUILD, uid)
                payload = share_form(emulator, uid, f"Round {round_no} burst {n}: flares and fog.", form=f"k{n}")
                await emulator.send_interaction(payload)
                sent.append(int(payload["id"]))
            await asyncio.sleep(rng.uniform(0.0, 0.005))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            acknowledged = set(thanks_by_interaction(emulator))
            with sqlite3.connect(db_path) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                stored = [row[0] for row in conn.execute("SELECT interaction_id FROM posts")]
            assert acknowledged <= set(stored), f"round {round_no}: acknowledged posts are missing"
            assert len(stored) == len(set(stored)), "a post was doubled"
            assert set(stored) <= set(sent)
    finally:
        await emulator.stop()
    print(f"sent {len(sent)}, stored {len(stored)}, acknowledged {len(acknowledged)}")
    assert len(acknowledged) > 20, "the test should have acknowledged a fair number of posts"
    assert len(acknowledged) < len(sent), "some posts should have been cut off by a kill"


async def test_dms_through_server_errors_and_rate_limits_reach_the_author_once(session, monkeypatch):
    from emulator.server import PERSONAS, Fault
    from cogs.moderation.worker import PostWorker

    monkeypatch.setattr(PostWorker, "interval", 0.1)  # the worker's pace, lowered for the test
    monkeypatch.setattr(PostWorker, "dm_retry_seconds", 0.2)

    for command in ("/config channel kind:queue channel:mod-queue", "/config channel kind:posts channel:community-posts",
                    "/config moderator-role role:Moderators"):
        await step(session, f"@admin {command}")
    await step(session, "@member /share")
    await step(session, "@member modal anonymous=anonymous experience=Gluten free helped my stomach, not my pain.")
    emu = session.emulator
    emu.faults = [Fault(method="POST", path_prefix="/users/@me/channels", status=500, times=2),
                  Fault(method="POST", path_prefix="/users/@me/channels", status=429, times=6, retry_after=0.01)]
    await step(session, "@moderator click Approve")

    def dm_delivered() -> bool:
        dm = emu.dm_channels.get(PERSONAS["member"])
        return bool(dm) and any(r.path == f"/channels/{dm}/messages" and r.status == 200 for r in emu.requests)

    await wait_for(dm_delivered)  # the notifier retries in the background
    # ... and records that the author was told once Discord has answered the send.
    await wait_for(lambda: session.bot.db.fetchval("SELECT author_notified FROM posts"))
    dm_channel = emu.dm_channels.get(PERSONAS["member"])
    delivered = [r for r in emu.requests if dm_channel and r.path == f"/channels/{dm_channel}/messages" and r.status == 200]
    opened = [r.status for r in emu.requests if r.path == "/users/@me/channels"]
    assert 500 in opened and 429 in opened and opened[-1] == 200, opened
    assert len(delivered) == 1, "the author is told exactly once"
    assert await session.bot.db.fetchval("SELECT author_notified FROM posts") == "dm_sent"
    published = [r for r in emu.requests if r.method == "POST" and r.status == 200
                 and r.path == f"/channels/{emu.find_channel(session.guild_id, 'community-posts')['id']}/messages"]
    assert len(published) == 1


async def test_a_burst_of_a_thousand_posts_into_one_queue_channel(tmp_path):
    """Discord lets a bot post 5 messages per 5 seconds in one channel: a thousand posts shared at
    once reach the queue channel in no less than 995 of Discord's seconds (here its windows are a
    hundred times shorter), each exactly once. The bot waits as the rate-limit headers say; the
    few 429s that discord.py runs into while it learns a bucket are retried, and nothing is lost."""
    scale = 0.01
    async with BotSession(tmp_path / "burst.db", openapi_path=OPENAPI_PATH, quiet=0.08, rate_scale=scale) as session:
        emu = session.emulator
        await step(session, "@admin /config channel kind:queue channel:mod-queue")
        await step(session, "@admin /config posting cooldown_seconds:0")
        queue = int(emu.find_channel(session.guild_id, "mod-queue")["id"])
        members = [620_000_000_000_000_000 + n for n in range(1000)]
        for uid in members:
            emu.add_member(session.guild_id, uid)
        await step(session, f"@{members[0]} /share")
        emu.deadline = float("inf")  # Discord's 3 seconds are the benchmark's matter, not this test's
        payloads = [share_form(emu, uid, f"Member {uid % 10000} writes about flares at night, day {n}.",
                               form=str(910_000 + n)) for n, uid in enumerate(members)]
        records = await asyncio.gather(*(emu.send_interaction(p) for p in payloads))
        await wait_for(lambda: all(r.done.is_set() for r in records), timeout=600)

        def posted():
            return [r for r in emu.requests if r.method == "POST" and r.path == f"/channels/{queue}/messages"]

        await wait_for(lambda: sum(r.status == 200 for r in posted()) >= 1000, timeout=900)

        async def all_recorded() -> bool:  # each queue message's id is written after it is sent
            return await session.bot.db.fetchval(
                "SELECT COUNT(*) FROM posts WHERE queue_message_id IS NOT NULL") == 1000

        await wait_for(all_recorded, timeout=900)
        await session.settle(cap=60)
        created = [r for r in posted() if r.status == 200]
        limited = [r for r in posted() if r.status == 429]
        took = emu.ratelimits.discord_seconds(created[-1].at - created[0].at)
        print(f"\n1,000 queue messages in one channel: {took:,.0f} s at Discord's limits (at least 995 s by its "
              f"5 per 5 s; {created[-1].at - created[0].at:.1f} s here with windows a hundred times shorter), "
              f"{len(limited)} answered 429 and retried, {emu.ratelimits.invalid_requests} invalid requests")
        assert len(created) == 1000
        assert len({r.body["embeds"][0]["description"] for r in created}) == 1000  # each post once
        assert took >= (1000 / 5 - 1) * 5 * 0.99  # the limit held (a bound no machine can beat)
        assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts WHERE queue_message_id IS NOT NULL") == 1000
        assert await session.bot.db.fetchval("SELECT COUNT(DISTINCT queue_message_id) FROM posts") == 1000
        assert session.errors == []
