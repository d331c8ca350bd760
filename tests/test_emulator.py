"""The emulator answers as Discord does where the bot could be wrong: checked with plain HTTP
requests, no bot involved."""

import time

import aiohttp
import pytest

from emulator.server import DEFAULT_GUILD, PERSONAS, Emulator, InteractionRecord
from support import OPENAPI_PATH

NO_PINGS = {"allowed_mentions": {"parse": []}}


@pytest.fixture
async def emu():
    emulator = await Emulator(openapi_path=OPENAPI_PATH).start()
    emulator.seed_guild(DEFAULT_GUILD)
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as client:
        yield client


def slash_interaction(emu: Emulator) -> InteractionRecord:
    """An interaction as if Discord had sent it to the bot."""
    channel = int(emu.find_channel(DEFAULT_GUILD, "general")["id"])
    payload = emu.interaction_payload(2, guild_id=DEFAULT_GUILD, channel_id=channel, user_id=PERSONAS["member"],
                                      data={"id": "1", "name": "about", "type": 1})
    record = InteractionRecord(id=int(payload["id"]), token=payload["token"], payload=payload,
                               user_id=PERSONAS["member"], sent_at=time.perf_counter())
    emu.interactions[record.id] = record
    return record


async def post(http, emu: Emulator, path: str, body: dict, **query) -> tuple[int, dict | None]:
    async with http.post(f"{emu.base_url}{path}", json=body, params=query) as resp:
        return resp.status, (await resp.json() if resp.status != 204 else None)


async def defer_then_follow_up(http, emu: Emulator, *, deferred_flags: int, followup_flags: int):
    record = slash_interaction(emu)
    status, _ = await post(http, emu, f"/interactions/{record.id}/{record.token}/callback",
                           {"type": 5, "data": {"flags": deferred_flags}})
    assert status == 204
    first = await post(http, emu, f"/webhooks/{emu.application_id}/{record.token}",
                       {"content": "the answer", "flags": followup_flags, **NO_PINGS})
    second = await post(http, emu, f"/webhooks/{emu.application_id}/{record.token}",
                        {"content": "one more", "flags": followup_flags, **NO_PINGS})
    return record, first, second


async def test_the_first_follow_up_after_a_defer_fills_the_deferred_message(emu, http):
    record, (status, first), (_, second) = await defer_then_follow_up(http, emu, deferred_flags=64, followup_flags=64)
    assert status == 200
    assert first["id"] == record.original_message["id"] and first["content"] == "the answer"
    assert second["id"] != first["id"]  # later follow-ups are messages of their own
    assert all(not r.violations for r in emu.requests)


@pytest.mark.parametrize("deferred_flags, followup_flags", [(0, 64), (64, 0)])
async def test_a_follow_up_of_other_privacy_than_the_defer_keeps_the_defers_and_is_a_violation(
        emu, http, deferred_flags, followup_flags):
    record, (status, first), _ = await defer_then_follow_up(http, emu, deferred_flags=deferred_flags,
                                                            followup_flags=followup_flags)
    assert status == 200  # Discord accepts it...
    assert first["id"] == record.original_message["id"]
    assert first["flags"] & 64 == deferred_flags  # ...and shows it with the defer's privacy
    followup = next(r for r in emu.requests if r.path.startswith("/webhooks/"))
    assert len(followup.violations) == 1 and "ephemeral flag" in followup.violations[0]


async def test_after_the_deferred_message_is_deleted_a_follow_up_keeps_its_own_privacy(emu, http):
    record = slash_interaction(emu)
    await post(http, emu, f"/interactions/{record.id}/{record.token}/callback", {"type": 5, "data": {"flags": 0}})
    async with http.delete(f"{emu.base_url}/webhooks/{emu.application_id}/{record.token}/messages/@original") as resp:
        assert resp.status == 204
    status, message = await post(http, emu, f"/webhooks/{emu.application_id}/{record.token}",
                                 {"content": "private", "flags": 64, **NO_PINGS})
    assert status == 200 and message["flags"] & 64 and message["id"] != record.original_message["id"]
    assert all(not r.violations for r in emu.requests)


async def test_a_repeated_create_with_the_same_nonce_returns_the_first_message(emu, http):
    channel = emu.find_channel(DEFAULT_GUILD, "community-posts")["id"]
    body = {"content": "published once", "nonce": "post-17", "enforce_nonce": True, **NO_PINGS}
    (s1, first), (s2, again) = [await post(http, emu, f"/channels/{channel}/messages", body) for _ in range(2)]
    assert s1 == s2 == 200 and again["id"] == first["id"]
    assert sum(m["content"] == "published once" for m in emu.messages.values()) == 1
    # Without enforce_nonce, Discord makes a new message each time.
    loose = {**body, "enforce_nonce": False, "content": "twice"}
    ids = {(await post(http, emu, f"/channels/{channel}/messages", loose))[1]["id"] for _ in range(2)}
    assert len(ids) == 2


# -- rules Discord checks on what the bot sends ---------------------------------------------------
from emulator import rules  # noqa: E402

TEXT_INPUT = {"type": 4, "custom_id": "text", "style": 2}


def modal(*components):
    return {"title": "A form", "custom_id": "form", "components": list(components)}


def test_a_text_input_in_a_label_has_no_label_of_its_own():
    good = modal({"type": 18, "label": "Your text", "component": TEXT_INPUT})
    bad = modal({"type": 18, "label": "Your text", "component": {**TEXT_INPUT, "label": "Again"}})
    assert rules.check_modal(good) == []
    assert rules.check_modal(modal({"type": 18, "label": "Your text", "component": {**TEXT_INPUT, "label": None}})) == []
    assert rules.check_modal(bad) == ["modal.components[0]: a text input inside a Label has no label of its own"]
    # In the old action-row form the text input carries its label.
    assert rules.check_modal(modal({"type": 1, "components": [{**TEXT_INPUT, "label": "Your text"}]})) == []


def test_disabled_is_not_allowed_in_a_modal():
    problems = rules.check_modal(modal({"type": 18, "label": "Your text", "component": {**TEXT_INPUT, "disabled": False}}))
    assert problems == ["modal.components[0]: `disabled` is not allowed in a modal"]


def test_a_select_menu_stands_alone_in_its_row():
    select = {"type": 3, "custom_id": "pick", "options": [{"label": "a", "value": "a"}]}
    button = {"type": 2, "style": 1, "custom_id": "go", "label": "Go"}
    assert rules.check_components([{"type": 1, "components": [select]}], "c") == []
    problems = rules.check_components([{"type": 1, "components": [select, button]}], "c")
    assert len(problems) == 1 and "stands alone" in problems[0]


def test_a_choice_value_is_at_most_100_characters():
    def command(value):
        return [{"name": "pick", "description": "Pick one", "type": 1, "options": [
            {"name": "which", "description": "Which one", "type": 3, "required": True,
             "choices": [{"name": "long", "value": value}]}]}]
    assert rules.check_commands(command("v" * 100)) == []
    problems = rules.check_commands(command("v" * 101))
    assert len(problems) == 1 and "choice value" in problems[0]
