"""Input no member should be able to break the bot with: arbitrary text, hostile payloads.

Property-based tests send generated text through the real bot and the emulator: every reply must
be valid for Discord, never ping anyone, and nothing may be logged at ERROR.
"""

import asyncio
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from emulator.server import PERSONAS
from emulator.session import BotSession
from support import OPENAPI_PATH, lift_ask_limit

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
        lift_ask_limit(session)  # forty questions in a row from one member
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(text=ARBITRARY)
        def ask(text):
            payload = command_payload(session, "study", [{"name": "ask", "type": 1, "options": [
                {"name": "question", "type": 3, "value": text}]}])
            assert_safe(loop.run_until_complete(session.run_payload(payload, label=f"/study ask {text!r}")))
        ask()
    run_property(tmp_path, body)


async def test_wrong_option_type_gets_a_clear_refusal(session):
    from support import step
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


def test_share_survives_arbitrary_text_and_stores_it_defanged(tmp_path):
    from support import share_form

    def body(loop, session):
        counter = iter(range(10**9))

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(text=ARBITRARY)
        def share(text):
            n = next(counter)
            user_id = 700_000_000_000_000_000 + n  # a new member each time: no cooldown in the way
            session.emulator.add_member(session.guild_id, user_id)
            payload = share_form(session.emulator, user_id, text, form=f"p{n}")
            result = loop.run_until_complete(session.run_payload(payload, label=f"share {text!r}"))
            assert_safe(result)
            stored = loop.run_until_complete(session.bot.db.fetchone(
                "SELECT text FROM posts WHERE interaction_id = ?", (int(payload["id"]),)))
            if stored is not None:  # accepted: nothing in it can ping or hide
                assert not PINGS.search(stored["text"])
                assert not re.search(r"[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]", stored["text"])
            else:  # refused: the member was told why, and given their text back
                assert result.text().strip()
        share()
    run_property(tmp_path, body)


async def test_unknown_button_ids_get_a_clear_answer(session):
    for custom_id in ("nothing:here", "fibrocircle:mod:approve:notanumber", "x" * 100, "quote:more:"):
        channel = int(session.emulator.find_channel(session.guild_id, "general")["id"])
        message = {"id": "1", "channel_id": str(channel), "type": 0, "content": "", "embeds": [], "attachments": [],
                   "author": session.emulator.bot_user, "timestamp": "2026-11-25T00:00:00+00:00", "edited_timestamp": None,
                   "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [], "pinned": False, "flags": 0,
                   "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Old", "custom_id": custom_id}]}]}
        payload = session.emulator.interaction_payload(3, guild_id=session.guild_id, channel_id=channel,
                                                       user_id=PERSONAS["member"],
                                                       data={"custom_id": custom_id, "component_type": 2}, message=message)
        result = await session.run_payload(payload, label=f"click {custom_id[:20]}")
        assert_safe(result)
        assert "no longer works" in result.text() or "can't" in result.text().lower()
