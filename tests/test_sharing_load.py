"""Sharing while the bot is busy: a post waiting for a free worker thread is not refused as too slow."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from bot import posts, safety
from bot.guild_settings import GuildSettings
from bot.posts import sharing


async def test_time_waiting_for_a_worker_thread_does_not_count_against_a_posts_budget(db, monkeypatch):
    safety.scan("a first scan loads the model")
    monkeypatch.setattr(sharing, "PREPARE_BUDGET_SECONDS", 2.0)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(pool)
    gate = threading.Event()
    busy = loop.run_in_executor(None, gate.wait)   # the only worker thread is taken
    config = await GuildSettings(db).get(1)
    submitting = asyncio.ensure_future(posts.submit(
        db, config, guild_id=1, author_id=2, author_name=None, anonymous=True,
        text="My sleep has been broken all week and the fatigue is heavy.", interaction_id=3))
    try:
        await asyncio.sleep(3.0)   # longer than the budget, all of it spent waiting for the thread
        assert not submitting.done()
    finally:
        gate.set()
        await busy
    result = await submitting
    pool.shutdown()
    assert result.created and result.post.state == "pending"
