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


RADIO = {"type": 21, "custom_id": "name", "options": [{"label": "Without my name", "value": "anonymous"},
                                                       {"label": "With my name", "value": "named"}]}


def labelled(component, label="Post anonymously?"):
    return {"type": 18, "label": label, "component": component}


def test_a_radio_group_is_held_to_discords_rules():
    assert rules.check_modal(modal(labelled(RADIO))) == []
    one = {**RADIO, "options": RADIO["options"][:1]}
    two_defaults = {**RADIO, "options": [{**o, "default": True} for o in RADIO["options"]]}
    same_values = {**RADIO, "options": [{**o, "value": "x"} for o in RADIO["options"]]}
    long_label = {**RADIO, "options": [{**RADIO["options"][0], "label": "x" * 101}, RADIO["options"][1]]}
    with_counts = {**RADIO, "max_values": 1}
    assert rules.check_modal(modal(labelled(one))) == ["modal.components[0]: a radio group has 1 options; it must be 2-10"]
    assert rules.check_modal(modal(labelled(two_defaults))) == [
        "modal.components[0]: a radio group can preselect at most one option (it has 2)"]
    assert rules.check_modal(modal(labelled(same_values))) == [
        "modal.components[0]: two options of the radio group have the same value"]
    assert rules.check_modal(modal(labelled(long_label))) == ["modal.components[0].options[0].label must be 1-100 characters"]
    assert rules.check_modal(modal(labelled(with_counts))) == [
        "modal.components[0]: a radio group has no `max_values` (exactly one option is chosen)"]
    # Only inside a Label, never in an action row or on its own.
    for outside in ({"type": 1, "components": [RADIO]}, RADIO):
        assert "must be placed inside a Label" in " ".join(rules.check_modal(modal(outside)))
    assert rules.check_modal(modal(labelled(RADIO, label="x" * 46))) == ["modal.components[0].label must be 1-45 characters"]


def test_checkbox_groups_and_checkboxes_are_held_to_discords_rules():
    group = {"type": 22, "custom_id": "days", "options": [{"label": "Mon", "value": "mon"}, {"label": "Tue", "value": "tue"}]}
    assert rules.check_modal(modal(labelled(group, "Days"))) == []
    assert rules.check_modal(modal(labelled({**group, "min_values": 0}, "Days"))) == [
        "modal.components[0]: min_values 0 needs required false (a required group needs at least one)"]
    assert rules.check_modal(modal(labelled({**group, "min_values": 0, "required": False}, "Days"))) == []
    assert rules.check_modal(modal(labelled({**group, "min_values": 2, "max_values": 1}, "Days"))) == [
        "modal.components[0]: min_values 2 is more than max_values 1"]
    box = {"type": 23, "custom_id": "ok"}
    assert rules.check_modal(modal(labelled(box, "Agree"))) == []
    assert rules.check_modal(modal(labelled({**box, "required": True}, "Agree"))) == ["modal.components[0]: a checkbox has no `required`"]


def test_the_client_submits_a_radio_group_only_with_one_of_its_options():
    form = modal(labelled(RADIO))

    def sent(value):
        return {"custom_id": "form", "components": [{"type": 18, "component": {"type": 21, "custom_id": "name", "value": value}}]}

    assert rules.form_refusal(form, sent("named")) is None
    assert rules.form_refusal(form, sent(None)) == "one of the choices for name must be picked"
    assert rules.form_refusal(form, sent("maybe")) == "'maybe' is not one of the choices for name"
    optional = modal(labelled({**RADIO, "required": False}))
    assert rules.form_refusal(optional, sent(None)) is None


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


# -- deadlines, tokens and which answer fits which interaction -------------------------------------
def interaction_of_type(emu: Emulator, kind: int, *, from_message: bool = False) -> InteractionRecord:
    record = slash_interaction(emu)
    record.payload["type"] = kind
    if from_message:
        record.payload["message"] = {"id": "1"}
    return record


async def callback(http, emu: Emulator, record: InteractionRecord, body: dict) -> tuple[int, dict | None]:
    return await post(http, emu, f"/interactions/{record.id}/{record.token}/callback", body)


async def test_a_first_response_after_three_seconds_is_refused_and_not_delivered(emu, http):
    record = slash_interaction(emu)
    record.sent_at -= 3.5  # Discord sent it three and a half seconds ago
    status, body = await callback(http, emu, record, {"type": 4, "data": {"content": "late", **NO_PINGS}})
    assert (status, body["code"]) == (404, 10062)
    assert record.response_type is None and record.late and record.original_message is None
    assert not any(m["content"] == "late" for m in emu.messages.values())


async def test_an_interaction_token_lasts_fifteen_minutes(emu, http):
    record = slash_interaction(emu)
    assert (await callback(http, emu, record, {"type": 5}))[0] == 204
    record.sent_at -= 15 * 60 + 1
    status, body = await post(http, emu, f"/webhooks/{emu.application_id}/{record.token}", {"content": "too late", **NO_PINGS})
    assert (status, body["code"]) == (401, 50027)
    async with http.patch(f"{emu.base_url}/webhooks/{emu.application_id}/{record.token}/messages/@original",
                          json={"content": "too late", **NO_PINGS}) as resp:
        assert resp.status == 401 and (await resp.json())["code"] == 50027


@pytest.mark.parametrize("interaction, answer, from_message, fits", [
    (4, {"type": 8, "data": {"choices": []}}, False, True),
    (4, {"type": 5}, False, False),                      # autocomplete is never deferred
    (4, {"type": 4, "data": {"content": "x"}}, False, False),
    (2, {"type": 8, "data": {"choices": []}}, False, False),
    (2, {"type": 6}, False, False),                      # 6 and 7 are for components
    (2, {"type": 7, "data": {"content": "x"}}, False, False),
    (3, {"type": 6}, True, True),
    (3, {"type": 7, "data": {"content": "x"}}, True, True),
    (5, {"type": 6}, True, True),                        # a form opened from a message's button
    (5, {"type": 6}, False, False),
    (5, {"type": 9, "data": {"title": "t", "custom_id": "c", "components": []}}, False, False),
    (2, {"type": 5, "data": {"flags": 64}}, False, True),
    (2, {"type": 5, "data": {"flags": 64 | 4}}, False, False),   # a defer carries only the ephemeral flag
    (2, {"type": 5, "data": {"content": "x"}}, False, False),
])
async def test_the_answer_must_fit_the_interaction(emu, http, interaction, answer, from_message, fits):
    record = interaction_of_type(emu, interaction, from_message=from_message)
    if "content" in answer.get("data", {}):
        answer["data"].update(NO_PINGS)
    status, body = await callback(http, emu, record, answer)
    if fits:
        assert status in (200, 204) and record.response_type == answer["type"]
    else:
        assert status == 400 and record.response_type is None
        assert emu.requests[-1].violations


# -- rate limits as Discord sends them --------------------------------------------------------------
async def test_every_answer_carries_its_rate_limit_headers(emu, http):
    channel = emu.find_channel(DEFAULT_GUILD, "general")["id"]
    async with http.get(f"{emu.base_url}/channels/{channel}") as resp:
        assert resp.status == 200
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Reset-After",
                "X-RateLimit-Bucket"} <= set(resp.headers)


async def test_a_sixth_message_in_five_seconds_to_one_channel_gets_429(emu, http):
    general, posts = (emu.find_channel(DEFAULT_GUILD, n)["id"] for n in ("general", "community-posts"))
    body = {"content": "hello", **NO_PINGS}
    remaining = []
    for _ in range(5):
        async with http.post(f"{emu.base_url}/channels/{general}/messages", json=body) as resp:
            assert resp.status == 200
            remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    async with http.post(f"{emu.base_url}/channels/{general}/messages", json=body) as resp:
        assert resp.status == 429
        assert resp.headers["X-RateLimit-Scope"] == "user" and float(resp.headers["Retry-After"]) > 0
        answer = await resp.json()
        assert answer["global"] is False and answer["retry_after"] > 0 and "rate limited" in answer["message"]
    # Another channel is its own bucket (a top-level resource).
    async with http.post(f"{emu.base_url}/channels/{posts}/messages", json=body) as resp:
        assert resp.status == 200
    assert sum(m["content"] == "hello" for m in emu.messages.values()) == 6
    assert emu.ratelimits.invalid_requests == 1


async def test_the_global_limit_is_50_a_second_and_spares_interaction_callbacks(emu, http):
    channel = emu.find_channel(DEFAULT_GUILD, "general")["id"]
    emu.ratelimits.scale = 60.0  # a "second" lasts a minute here, so that no window ends mid-test
    statuses = []
    for _ in range(51):
        async with http.get(f"{emu.base_url}/channels/{channel}") as resp:
            statuses.append(resp.status)
            if resp.status == 429:
                assert resp.headers["X-RateLimit-Global"] == "true" and resp.headers["X-RateLimit-Scope"] == "global"
    assert statuses == [200] * 50 + [429]
    record = slash_interaction(emu)
    assert (await callback(http, emu, record, {"type": 5}))[0] == 204


async def test_forbidden_answers_count_as_invalid_requests(emu, http):
    rules_channel = emu.find_channel(DEFAULT_GUILD, "rules")["id"]
    for _ in range(3):
        async with http.post(f"{emu.base_url}/channels/{rules_channel}/messages", json={"content": "x", **NO_PINGS}) as resp:
            assert resp.status == 403
    assert emu.ratelimits.invalid_requests == 3


# -- permissions ----------------------------------------------------------------------------------
from emulator.server import PERM  # noqa: E402


def test_overwrites_resolve_everyone_then_role_denies_then_role_allows_then_the_member(emu):
    guild = DEFAULT_GUILD
    channel = emu.find_channel(guild, "general")
    helpers, quiet = emu.add_role(guild, "Helpers"), emu.add_role(guild, "Quiet")
    user = PERSONAS["member"]
    emu.guilds[guild]["members"][user]["roles"] += [helpers["id"], quiet["id"]]
    send, view = PERM["send_messages"], PERM["view_channel"]
    # A role's allow wins over another role's deny, whatever their order in the list.
    channel["permission_overwrites"] = [
        {"id": helpers["id"], "type": 0, "allow": str(send), "deny": "0"},
        {"id": quiet["id"], "type": 0, "allow": "0", "deny": str(send)},
        {"id": str(guild), "type": 0, "allow": "0", "deny": str(send | view)},
    ]
    perms = emu.channel_permissions(int(channel["id"]), user)
    assert perms & send and not perms & view
    # The member's own overwrite comes last.
    channel["permission_overwrites"].append({"id": str(user), "type": 1, "allow": str(view), "deny": str(send)})
    perms = emu.channel_permissions(int(channel["id"]), user)
    assert perms & view and not perms & send


async def test_a_new_channels_overwrites_grant_only_what_the_bot_has(emu, http):
    def overwrite(bits):
        return {"name": "new-room", "type": 0, "permission_overwrites": [
            {"id": str(DEFAULT_GUILD), "type": 0, "allow": 0, "deny": PERM["view_channel"]},
            {"id": str(emu.application_id), "type": 1, "allow": bits, "deny": 0}]}
    # (no bot is connected here to be told of a new channel: only the permission answer is checked)
    assert (await post(http, emu, f"/guilds/{DEFAULT_GUILD}/channels", overwrite(PERM["view_channel"])))[0] != 403
    status, body = await post(http, emu, f"/guilds/{DEFAULT_GUILD}/channels", overwrite(PERM["administrator"]))
    assert (status, body["code"]) == (403, 50013)


async def test_an_upload_larger_than_the_interactions_limit_is_refused(emu, http):
    record = slash_interaction(emu)
    record.payload["attachment_size_limit"] = 100

    async def answer(size: int) -> int:
        form = aiohttp.FormData()
        form.add_field("payload_json", '{"type": 4, "data": {"content": "here", "allowed_mentions": {"parse": []},'
                                       ' "attachments": [{"id": 0, "filename": "data.json"}]}}',
                       content_type="application/json")
        form.add_field("files[0]", b"x" * size, filename="data.json", content_type="application/json")
        async with http.post(f"{emu.base_url}/interactions/{record.id}/{record.token}/callback", data=form) as resp:
            return resp.status

    assert await answer(101) == 413 and record.response_type is None
    assert await answer(100) == 204 and record.response_type == 4
