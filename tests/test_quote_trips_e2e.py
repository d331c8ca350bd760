"""How many times /quote goes to the database before it replies, counted through the real bot
against the emulator: every call that hands work to the database thread counts as one trip
(a query, a cursor's fetch or close, a BEGIN or a COMMIT), on the writer or on any reader. What is written after the reply (the
record of what was shown) does not delay the member and is counted apart."""

from __future__ import annotations

import asyncio

import aiosqlite
import pytest

from support import lift_ask_limit, ready_server, share, step

pytestmark = pytest.mark.usefixtures("quick_worker")

WORKER_TASK = "fibrocircle-post-worker"   # its rounds read the database whatever members do


class Trips:
    """Trips to the bot's database, and how many of them came before each reply the quote cog sent."""

    def __init__(self) -> None:
        self.count = 0
        self.sql: list[str] = []
        self.at_reply: list[int] = []
        self.conns: list[aiosqlite.Connection] = []
        self.monkeypatch: pytest.MonkeyPatch | None = None

    def since(self, start: int) -> list[int]:
        return [n - start for n in self.at_reply]


@pytest.fixture
def trips(monkeypatch) -> Trips:
    counted = Trips()
    original_execute = aiosqlite.Connection._execute

    async def execute(self, fn, *args, **kwargs):
        task = asyncio.current_task()
        if any(self is conn for conn in counted.conns) and (task is None or task.get_name() != WORKER_TASK):
            counted.count += 1
            counted.sql.append(str(args[0])[:120] if args else getattr(fn, "__name__", "?"))
        return await original_execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", execute)
    counted.monkeypatch = monkeypatch
    return counted


def watch_replies(session, trips: Trips) -> None:
    """Note the trip count whenever the quote cog sends its reply (the module the bot loaded)."""
    module = session.bot.extensions["cogs.quotes"]
    original = module.send
    if getattr(original, "counted", False):
        return

    async def send(*args, **kwargs):
        trips.at_reply.append(trips.count)
        return await original(*args, **kwargs)

    send.counted = True
    trips.monkeypatch.setattr(module, "send", send)


async def quote_trips(session, trips: Trips, text: str) -> tuple[int, list[str]]:
    """Trips before the reply of one /quote step, and the statements they ran."""
    trips.conns = [session.bot.db.writer, *session.bot.db.readers]
    assert trips.conns[1:], "reads have connections of their own"
    watch_replies(session, trips)
    trips.at_reply.clear()
    start = trips.count
    await step(session, text)
    assert len(trips.at_reply) == 1, "one reply"
    before = trips.since(start)[0]
    return before, trips.sql[start:start + before]


async def test_quote_goes_to_the_database_at_most_twice_before_it_replies(session, trips):
    await ready_server(session)
    lift_ask_limit(session)
    await share(session, "Cold mornings are the worst for my legs and my sleep is broken every night.")
    await step(session, "@moderator click Approve")
    await step(session, "/quote topic:weather")   # the first search of the server reads its settings

    for search in ("sleep", "opiods", "cold winter", "pain meds", "gluten", "sleep count:3"):
        before, statements = await quote_trips(session, trips, f"@member /quote topic:{search}")
        assert before <= 2, (search, statements)

    # What was shown is still recorded: "Another" never repeats a quote.
    first = await step(session, "@member /quote topic:sleep")
    second = await step(session, "@member click Another")
    assert first.text() != second.text()



async def test_a_quote_shown_to_the_channel_goes_to_the_database_at_most_twice(session, trips):
    """A reply the channel sees also asks which quote the channel was given last."""
    await ready_server(session)
    lift_ask_limit(session)
    await step(session, "/quote topic:weather")
    before, statements = await quote_trips(session, trips, "@member /quote topic:sleep ephemeral:False")
    assert before <= 2, statements
    again, statements = await quote_trips(session, trips, "@member /quote topic:sleep ephemeral:False")
    assert again <= 2, statements
