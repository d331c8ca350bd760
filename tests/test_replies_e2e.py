"""Private stays private after a public defer: Discord makes the first follow-up fill the "thinking"
message with the defer's privacy, so an error or "nothing found" must not become a follow-up of it.

Every reply here is deferred first (the bot defers when its work runs long; here it always does),
which is what a slow moment on a busy server looks like."""

import asyncio

import pytest

import bot.study
from bot.errors import UserFacingError
from cogs.utils import replies
from support import step


@pytest.fixture(autouse=True)
def always_defer(monkeypatch):
    monkeypatch.setattr(replies, "DEFER_AFTER", 0)


def visible_replies(session, result):
    """The messages the step left in the channel, with who may see them (None: everyone)."""
    ids = {r.interaction_id for r in result.requests if r.interaction_id}
    return [(m["_meta"]["ephemeral_for"], m) for m in session.emulator.messages.values()
            if m["_meta"].get("interaction_id") in ids]


async def test_nothing_found_after_a_public_defer_is_private(session):
    result = await step(session, "/quote topic:zqxv wibble ephemeral:False")
    assert result.requests[0].body["type"] == 5 and not (result.requests[0].body.get("data") or {}).get("flags")
    shown = visible_replies(session, result)
    assert len(shown) == 1, "the public thinking message is gone"
    who, message = shown[0]
    assert who is not None and message["flags"] & 64 and "zqxv" in message["content"]


async def test_an_error_after_a_public_defer_is_private(session, monkeypatch):
    async def no_article(*args, **kwargs):
        await asyncio.sleep(0.05)  # still working when the bot decides to defer (at once, here)
        raise UserFacingError("The study isn't loaded yet. Ask an admin to run fibrocircle ingest.")

    monkeypatch.setattr(bot.study, "study_summary", no_article)
    result = await step(session, "/study summary")
    shown = visible_replies(session, result)
    assert len(shown) == 1
    who, message = shown[0]
    assert who is not None and message["flags"] & 64 and "isn't loaded" in message["content"]


async def test_a_public_answer_fills_the_public_thinking_message(session):
    result = await step(session, "/study ask question:How many people took part? private:False")
    shown = visible_replies(session, result)
    assert len(shown) == 1
    who, message = shown[0]
    assert who is None and not message["flags"] & 64 and message["embeds"]
    assert not any(r.method == "DELETE" for r in result.requests)


async def test_a_private_answer_fills_the_private_thinking_message(session):
    result = await step(session, "/study ask question:How many people took part?")
    shown = visible_replies(session, result)
    assert len(shown) == 1 and shown[0][1]["flags"] & 64
    assert not any(r.method == "DELETE" for r in result.requests)
