"""Input no member should be able to break the bot with: arbitrary text, hostile payloads.

Property-based tests send generated text through the real bot and the emulator: every reply must
be valid for Discord, never ping anyone, and nothing may be logged at ERROR.
"""

import asyncio
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.emulator.server import PERSONAS
from bot.session import BotSession
from conftest import OPENAPI_PATH

PINGS = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>")
# Unicode of every category, control characters, markdown and mentions, up to very long.
ARBITRARY = st.one_of(
    st.text(min_size=1, max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.lists(st.sampled_from(["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "**bold**",
                              "||spoiler||", "```code```", "\u202e", "\x00", "\u200b", "NEAR(", "\"", "*", "sleep",
                              "opioids", "é", "🧠", " ", "\n"]), min_size=1, max_size=40).map("".join),
)


def assert_safe(result):
    assert result.answered, f"no answer to {result.step!r}"
    assert result.violations == [], result.violations
    assert result.errors == [], result.errors
    for body in result.bodies():
        if body.get("content") or body.get("embeds"):
            assert body.get("allowed_mentions") == {"parse": []}
        content = body.get("content") or ""
        assert not PINGS.search(content), f"a pingable mention in content: {content!r}"


def command_payload(session: BotSession, name: str, options: list, *, user: str = "member", guild_id=None, kind=2):
    emu = session.emulator
    guild_id = guild_id or session.guild_id
    channel = emu.find_channel(guild_id, "general") if guild_id in emu.guilds else None
    return emu.interaction_payload(kind, guild_id=guild_id, channel_id=int(channel["id"]) if channel else 999,
                                   user_id=PERSONAS[user], data={"id": "1", "name": name, "type": 1, "options": options})


def run_property(tmp_path, body):
    """Run a hypothesis property against one bot session on one event loop."""
    loop = asyncio.new_event_loop()
    session = BotSession(tmp_path / "prop.db", openapi_path=OPENAPI_PATH, quiet=0.03)
    loop.run_until_complete(session.__aenter__())
    try:
        body(loop, session)
    finally:
        loop.run_until_complete(session.__aexit__(None, None, None))
        loop.close()


def test_study_ask_survives_arbitrary_text(tmp_path):
    def body(loop, session):
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(text=ARBITRARY)
        def ask(text):
            payload = command_payload(session, "study", [{"name": "ask", "type": 1, "options": [
                {"name": "question", "type": 3, "value": text}]}])
            assert_safe(loop.run_until_complete(session.run_payload(payload, label=f"/study ask {text!r}")))
        ask()
    run_property(tmp_path, body)


async def test_wrong_option_type_gets_a_clear_refusal(session):
    from helpers import step
    await step(session, "@admin /config moderator-role role:Moderators")
    before = await session.bot.guild_settings.get(session.guild_id)
    payload = command_payload(session, "config", [{"name": "posting", "type": 1, "options": [
        {"name": "cooldown_seconds", "type": 4, "value": "a lot"}]}], user="admin")
    result = await session.run_payload(payload)
    assert_safe(result)
    assert "valid" in result.text().lower() or "number" in result.text().lower()
    assert await session.bot.guild_settings.get(session.guild_id) == before


async def test_an_unseen_guild_is_answered(session):
    payload = command_payload(session, "about", [], guild_id=999_999_999_999_999_999)
    result = await session.run_payload(payload)
    assert_safe(result)
    payload = command_payload(session, "study", [{"name": "ask", "type": 1, "options": [
        {"name": "question", "type": 3, "value": "how many people took part"}]}], guild_id=999_999_999_999_999_999)
    assert_safe(await session.run_payload(payload))


async def test_a_member_claiming_admin_commands_is_refused_and_nothing_changes(session):
    before = await session.bot.guild_settings.get(session.guild_id)
    payload = command_payload(session, "config", [{"name": "posting", "type": 1, "options": [
        {"name": "cooldown_seconds", "type": 4, "value": 1}]}], user="member")
    result = await session.run_payload(payload)
    assert_safe(result)
    assert "Manage Server" in result.text()
    assert await session.bot.guild_settings.get(session.guild_id) == before
