"""/config and the setup wizard, driven through the emulator as admins and members would use them."""

from __future__ import annotations

import json

import pytest

from bot import audit
from emulator.server import PERSONAS, PERM
from emulator.session import BotSession, StepResult
from support import OTHER_GUILD, channel_id, choose, is_ephemeral, role_id, set_up_everything, step

NEW_GUILD = 300_000_000_000_000_888


async def config_of(session: BotSession, guild_id: int | None = None):
    return await session.bot.guild_settings.get(guild_id or session.guild_id)


async def setting_changes(session: BotSession) -> int:
    return await session.bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = ?", (audit.SETTING_CHANGED,))


def sent_to(result: StepResult, channel: int) -> list[str]:
    """Text of the messages the bot posted in a channel during a step (not interaction replies)."""
    return [r.body.get("content") or "" for r in result.requests
            if r.method == "POST" and r.path == f"/channels/{channel}/messages" and r.status == 200]


# -- an admin sets the server up ------------------------------------------------------------------

async def test_admin_sets_the_three_channels_and_the_role_and_show_reflects_them(session):
    posts, queue, log = (channel_id(session, n) for n in ("community-posts", "mod-queue", "mod-log"))
    mods = role_id(session, "Moderators")

    first = await step(session, "@admin /config channel kind:posts channel:community-posts")
    assert is_ephemeral(first)
    assert f"**Posts channel** is now <#{posts}> (was not set)." in first.text()
    public_queue = await step(session, "@admin /config channel kind:queue channel:general")
    # #general is readable by everyone: pending posts would be too.
    assert "Everyone in the server can read" in public_queue.text()
    queue_reply = await step(session, "@admin /config channel kind:queue channel:mod-queue")
    # The emulator's #mod-queue is staff-only, as it should be.
    assert "Everyone in the server can read" not in queue_reply.text()
    log_reply = await step(session, "@admin /config channel kind:log channel:mod-log")
    assert sent_to(log_reply, log), "the change that sets the log channel is mirrored there"
    role_reply = await step(session, "@admin /config moderator-role role:Moderators")
    assert f"**Moderator role** is now <@&{mods}>" in role_reply.text()
    mirrored = sent_to(role_reply, log)
    assert len(mirrored) == 1 and f"Moderator role changed from not set to <@&{mods}> by <@{PERSONAS['admin']}>" in mirrored[0]

    config = await config_of(session)
    assert (config.posts_channel, config.queue_channel, config.log_channel, config.moderator_role) == (posts, queue, log, mods)

    show = await step(session, "@admin /config show")
    assert is_ephemeral(show)
    embed = next(b for b in show.bodies() if b.get("embeds"))["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Posts channel"].startswith(f"<#{posts}>") and "default" not in fields["Posts channel"].split("\n")[0]
    assert fields["Queue channel"].startswith(f"<#{queue}>")
    assert fields["Log channel"].startswith(f"<#{log}>")
    assert fields["Moderator role"].startswith(f"<@&{mods}>")
    assert fields["Cooldown"].startswith("300 seconds (5 minutes) · default")
    assert "No posts channel" not in embed["description"] and "No moderator role" not in embed["description"]
    assert "Everyone in the server can read" not in embed["description"]  # queue and log are staff-only


async def test_posting_settings_change_together_and_are_mirrored(session):
    await step(session, "@admin /config channel kind:log channel:mod-log")
    result = await step(session, "@admin /config posting enabled:false cooldown_seconds:60 daily_cap:3 min_member_age_hours:48")
    text = result.text()
    assert "**Posting** is now off (was on)." in text
    assert "**Cooldown** is now 60 seconds (1 minute) (was 300 seconds (5 minutes))." in text
    assert "**Minimum membership age** is now 48 hours (2 days) (was 0 hours)." in text
    config = await config_of(session)
    assert (config.posting_enabled, config.cooldown_seconds, config.daily_cap, config.min_member_age_hours) == (False, 60, 3, 48)
    mirrored = "\n".join(sent_to(result, channel_id(session, "mod-log")))
    # Sentences a moderator reads at a glance, with the settings' own names and units.
    assert "Posting changed from on to off by" in mirrored
    assert "Cooldown changed from 5 minutes to 1 minute by" in mirrored
    assert "Daily cap changed from 5 posts a day to 3 posts a day by" in mirrored
    assert "Minimum membership age changed from 0 hours to 48 hours by" in mirrored
    assert "_seconds" not in mirrored and "setting.changed" not in mirrored

    again = await step(session, "@admin /config posting daily_cap:3")
    assert "was already 3 posts a day" in again.text() and "Nothing was changed." in again.text()
    assert sent_to(again, channel_id(session, "mod-log")) == []

    decisions = await step(session, "@admin /config decisions-anonymous value:false")
    assert "**Anonymous decisions** is now off (was on)." in decisions.text()
    assert (await config_of(session)).decisions_anonymous is False


async def test_crisis_resources_by_option_and_by_form(session):
    result = await step(session, "@admin /config crisis-resources text:UK: call Samaritans on 116 123.")
    assert "> UK: call Samaritans on 116 123." in result.text()
    opened = await step(session, "@admin /config crisis-resources")
    modal = next(b for b in opened.bodies() if b.get("custom_id") and b.get("title"))
    assert modal["title"] == "Crisis resources text"
    assert "Samaritans" in json.dumps(modal)  # the form starts from the current text
    # A Label holds the text input (the action-row form is deprecated); the input has no label of its own.
    assert [c["type"] for c in modal["components"]] == [18]
    assert modal["components"][0]["label"] == "Shown at once to a member in crisis"
    assert modal["components"][0]["component"].get("label") is None
    submitted = await step(session, "@admin modal Shown at once to a member in crisis=UK: Samaritans 116 123\nIreland: 112")
    assert is_ephemeral(submitted)
    assert (await config_of(session)).crisis_resources == "UK: Samaritans 116 123\nIreland: 112"


async def test_reset_puts_a_setting_back_and_autocomplete_names_the_settings(session):
    suggestions = await step(session, "@admin ?/config reset setting:cool")
    choices = next(r.body["data"]["choices"] for r in suggestions.requests if r.path.endswith("/callback"))
    assert choices == [{"name": "Cooldown (cooldown_seconds)", "value": "cooldown_seconds"}]
    everything = await step(session, "@admin ?/config reset setting:")
    names = [c["value"] for c in next(r.body["data"]["choices"] for r in everything.requests if r.path.endswith("/callback"))]
    assert "setup_offered" not in names and len(names) == 13  # with featured_article and hidden_articles

    await step(session, "@admin /config posting cooldown_seconds:60")
    reset = await step(session, "@admin /config reset setting:cooldown_seconds")
    assert "back to its default, 300 seconds (5 minutes) (was 60 seconds (1 minute))" in reset.text()
    assert (await config_of(session)).cooldown_seconds == 300
    typo = await step(session, "@admin /config reset setting:coldown")
    assert "Did you mean cooldown_seconds?" in typo.text() and is_ephemeral(typo)


# -- refusals ------------------------------------------------------------------------------------

async def test_members_without_manage_server_are_refused_and_nothing_changes(session):
    for who in ("member", "moderator"):
        result = await step(session, f"@{who} /config channel kind:posts channel:general")
        assert is_ephemeral(result)
        assert "Only members with the Manage Server permission" in result.text()
        assert "Nothing was changed." in result.text()
    # Even once the server names the moderator role: settings are for Manage Server only.
    await step(session, "@admin /config moderator-role role:Moderators")
    refused = await step(session, "@moderator /config posting enabled:false")
    assert "Manage Server" in refused.text()
    config = await config_of(session)
    assert config.posts_channel is None and config.posting_enabled is True
    rows = await session.bot.db.fetchall("SELECT actor_id, target FROM audit_log WHERE action = 'config.refused'")
    assert [(r["actor_id"], r["target"]) for r in rows] == [
        (PERSONAS["member"], "config channel"), (PERSONAS["moderator"], "config channel"),
        (PERSONAS["moderator"], "config posting")]
    # Members get no setting names from autocomplete either.
    hidden = await step(session, "@member ?/config reset setting:c")
    assert next(r.body["data"]["choices"] for r in hidden.requests if r.path.endswith("/callback")) == []


async def test_the_group_is_hidden_by_default_and_guild_only(session):
    synced = next(c for scope in session.emulator.commands.values() for c in scope if c["name"] == "config")
    assert int(synced["default_member_permissions"]) == PERM["manage_guild"]
    assert synced.get("contexts") == [0] or synced.get("dm_permission") is False, synced


INVALID = [
    ("/config posting cooldown_seconds:-5", "Cooldown must be between 0 and 86,400 seconds; you gave -5."),
    ("/config posting daily_cap:10000", "Daily cap must be between 1 and 50 posts a day; you gave 10,000."),
    # All or nothing: the valid cooldown is not saved either.
    ("/config posting cooldown_seconds:60 daily_cap:0", "Daily cap must be between 1 and 50"),
    ("/config posting min_member_age_hours:721", "Minimum membership age must be between 0 and 720 hours"),
    ("/config channel kind:posts channel:Voice Lounge", "is a voice channel; the posts channel must be a text channel"),
    ("/config channel kind:queue channel:rules", "I'm missing Send Messages, Embed Links there"),
    ("/config crisis-resources text:" + "Call 988. " * 101, "at most 1,000 characters"),
    ("/config moderator-role role:Fibro Circle", "belongs to a bot or integration"),
    ("/config moderator-role role:@everyone", "@everyone can't be the moderator role"),
]


async def test_invalid_values_are_refused_with_the_reason_and_change_nothing(session):
    await set_up_everything(session)
    before = (await config_of(session)).as_dict()
    changes_before = await setting_changes(session)
    for command, reason in INVALID:
        result = await step(session, f"@admin {command}")
        assert is_ephemeral(result), command
        assert reason in result.text(), (command, result.text())
        assert "Nothing was changed." in result.text(), command
        assert sent_to(result, channel_id(session, "mod-log")) == [], command
    # The form refuses over-long text the same way (sent raw: Discord's client stops at 1,000).
    await step(session, "@admin /config crisis-resources")
    too_long = await step(session, "@admin modal Shown at once to a member in crisis=" + "x" * 1001, raw=True)
    assert "at most 1,000 characters" in too_long.text()
    assert (await config_of(session)).as_dict() == before
    assert await setting_changes(session) == changes_before


async def test_show_fits_discords_limits_with_the_longest_values_and_every_problem(session):
    await set_up_everything(session)
    await step(session, "@admin /config crisis-resources text:" + "Call 988 or text 741741. " * 40)  # 1,000 characters
    for name in ("community-posts", "mod-log"):
        await session.emulator.remove_channel_event(channel_id(session, name))
    await session.emulator.remove_role_event(session.guild_id, role_id(session, "Moderators"))
    await session.settle()
    await step(session, "@admin /config posting enabled:false")
    show = await step(session, "@admin /config show")  # step() fails on any broken limit
    embed = next(b for b in show.bodies() if b.get("embeds"))["embeds"][0]
    crisis = next(f["value"] for f in embed["fields"] if f["name"] == "Crisis resources text")
    assert crisis.startswith("Call 988") and len(crisis) <= 1024
    assert embed["description"].count("•") >= 6


# -- servers are separate ------------------------------------------------------------------------

async def test_settings_of_one_server_never_show_in_another(two_guilds):
    s = two_guilds
    await set_up_everything(s)
    await step(s, "@admin /config posting cooldown_seconds:60 daily_cap:2")
    await step(s, "@admin /config crisis-resources text:Call the clinic line 555-0100.")
    ids_a = [str(channel_id(s, n)) for n in ("community-posts", "mod-queue", "mod-log")] + [str(role_id(s, "Moderators"))]

    other = await step(s, "@admin /config show", guild_id=OTHER_GUILD)
    text = other.text()
    assert not any(i in text for i in ids_a)
    assert "555-0100" not in text and "60 seconds" not in text
    assert "No posts channel" in text and "300 seconds (5 minutes) · default" in text
    b = await config_of(s, OTHER_GUILD)
    assert (b.posts_channel, b.moderator_role, b.cooldown_seconds, b.daily_cap) == (None, None, 300, 5)

    # A change in the other server leaves the first one as it was.
    await step(s, "@admin /config posting daily_cap:9", guild_id=OTHER_GUILD)
    assert (await config_of(s)).daily_cap == 2 and (await config_of(s, OTHER_GUILD)).daily_cap == 9
    # Its channels can't be chosen here: the option only resolves channels of this server.
    assert (await s.run(f"@admin /config channel kind:posts channel:{ids_a[0]}", guild_id=OTHER_GUILD)).problem


async def test_export_then_import_into_a_fresh_server_reproduces_the_settings(two_guilds, tmp_path):
    s = two_guilds
    await set_up_everything(s)
    await step(s, "@admin /config posting anonymous_allowed:false cooldown_seconds:120 daily_cap:3")
    await step(s, "@admin /config crisis-resources text:UK: call Samaritans on 116 123.")
    await step(s, "@admin /config decisions-anonymous value:false")

    exported = await step(s, "@admin /config export")
    assert is_ephemeral(exported)
    files = [f for r in exported.requests for f in r.files]
    assert len(files) == 1 and files[0]["filename"] == "fibro-circle-settings.json"
    data = json.loads(files[0]["content"])
    assert data["settings"]["queue_channel"] == str(channel_id(s, "mod-queue"))
    assert data["names"]["queue_channel"] == "mod-queue"
    path = tmp_path / "settings.json"
    path.write_text(files[0]["content"])

    imported = await step(s, f"@admin /config import file:{path}", guild_id=OTHER_GUILD)
    assert is_ephemeral(imported)
    assert "matched" in imported.text() and "by its name" in imported.text()
    a, b = (await config_of(s)).as_dict(), (await config_of(s, OTHER_GUILD)).as_dict()
    for name in ("crisis_resources", "posting_enabled", "anonymous_allowed", "cooldown_seconds", "daily_cap",
                 "min_member_age_hours", "decisions_anonymous"):
        assert b[name] == a[name], name
    # Channels and the role are this server's own, found by name.
    for name, channel in (("posts_channel", "community-posts"), ("queue_channel", "mod-queue"), ("log_channel", "mod-log")):
        assert b[name] == channel_id(s, channel, OTHER_GUILD) != a[name]
    assert b["moderator_role"] == role_id(s, "Moderators", OTHER_GUILD)

    # Importing the same file again changes nothing.
    again = await step(s, f"@admin /config import file:{path}", guild_id=OTHER_GUILD)
    assert "already matches" in again.text()


async def test_a_bad_settings_file_changes_nothing_and_says_why(session, tmp_path):
    await step(session, "@admin /config posting cooldown_seconds:90")
    before = (await config_of(session)).as_dict()
    cases = {
        "not-json.json": ("{settings: oops", "not valid JSON"),
        "other.json": (json.dumps({"hello": "world"}), "not a settings file from /config export"),
        "bad-value.json": (json.dumps({"format": "fibro-circle-settings", "version": 1,
                                       "settings": {"daily_cap": 3, "cooldown_seconds": -5}}), "cooldown_seconds"),
        "misspelt.json": (json.dumps({"format": "fibro-circle-settings", "version": 1,
                                      "settings": {"daily_cap": 3, "cooldown_secs": 10}}), "did you mean cooldown_seconds?"),
    }
    unusable = {"posts_channel": str(channel_id(session, "Voice Lounge")), "log_channel": str(channel_id(session, "rules")),
                "moderator_role": str(role_id(session, "Fibro Circle")), "daily_cap": 3}
    cases["unusable.json"] = (json.dumps({"format": "fibro-circle-settings", "version": 1, "settings": unusable}),
                              "is a voice channel")
    for filename, (content, reason) in cases.items():
        path = tmp_path / filename
        path.write_text(content)
        result = await step(session, f"@admin /config import file:{path}")
        assert is_ephemeral(result)
        assert reason in result.text() and "Nothing was changed." in result.text(), (filename, result.text())
    assert "is a voice channel" in result.text() and "I'm missing Send Messages" in result.text()
    assert "belongs to a bot or integration" in result.text()
    assert (await config_of(session)).as_dict() == before


# -- deleted channels and roles -------------------------------------------------------------------

async def test_a_deleted_channel_or_role_is_forgotten_and_show_says_so(session):
    await set_up_everything(session)
    posts, log = channel_id(session, "community-posts"), channel_id(session, "mod-log")
    start = len(session.emulator.requests)
    await session.emulator.remove_channel_event(posts)
    await session.settle()
    assert (await config_of(session)).posts_channel is None
    posted = [r for r in session.emulator.requests[start:] if r.path == f"/channels/{log}/messages"]
    assert [r.violations for r in posted] == [[]]  # mentions in it render as names and ping nobody
    mirrored = [r.body["content"] for r in posted]
    assert len(mirrored) == 1 and f"Posts channel cleared because its channel <#{posts}> was deleted" in mirrored[0]

    await session.emulator.remove_role_event(session.guild_id, role_id(session, "Moderators"))
    await session.settle()
    assert (await config_of(session)).moderator_role is None

    show = await step(session, "@admin /config show")
    text = show.text()
    assert "The posts channel was cleared because its channel was deleted" in text
    assert "The moderator role was cleared because its role was deleted" in text
    assert "No moderator role" in text
    # Once an admin chooses a new one, the note goes away.
    await step(session, "@admin /config channel kind:posts channel:general")
    assert "posts channel was cleared" not in (await step(session, "@admin /config show")).text()


async def test_a_channel_deleted_while_the_bot_was_away_shows_as_a_problem(session):
    await set_up_everything(session)
    queue = channel_id(session, "mod-queue")
    session.emulator.delete_channel(queue)  # no event: the bot was offline
    await session.restart_bot()
    show = await step(session, "@admin /config show")
    assert f"The queue channel (id {queue}) no longer exists" in show.text()


# -- the setup wizard -----------------------------------------------------------------------------

async def test_first_config_use_offers_the_wizard_once_and_its_menus_set_everything(session):
    first = await step(session, "@admin /config show")
    assert "Set up Fibro Circle" in first.text()
    assert first.buttons() == ["Create channels for me", "Create a moderator role", "Done"]
    offer = [b for b in first.bodies() if b.get("components")]
    assert len(offer) == 1 and int(offer[0]["flags"]) & 64, "the wizard is private to the admin"
    assert "Set up Fibro Circle" not in (await step(session, "@admin /config show")).text()

    for custom_id, channel in (("posts_channel", "community-posts"), ("queue_channel", "mod-queue"), ("log_channel", "mod-log")):
        picked = await choose(session, f"fibrocircle:setup:pick:{custom_id}", channel)
        edit = next(b for b in picked.bodies() if b.get("embeds"))
        assert f"<#{channel_id(session, channel)}>" in edit["embeds"][0]["description"]
    await session.restart_bot()  # the wizard's menus carry their state in their ids
    picked = await choose(session, "fibrocircle:setup:pick:moderator_role", "Moderators")
    assert "✅ **Moderator role**" in picked.text()
    assert any("Moderator role set to" in m and "in the setup wizard" in m
               for m in sent_to(picked, channel_id(session, "mod-log")))

    config = await config_of(session)
    assert (config.posts_channel, config.queue_channel, config.log_channel, config.moderator_role) == (
        channel_id(session, "community-posts"), channel_id(session, "mod-queue"), channel_id(session, "mod-log"),
        role_id(session, "Moderators"))

    refused = await choose(session, "fibrocircle:setup:pick:posts_channel", "rules")
    assert is_ephemeral(refused) and "I'm missing Send Messages" in refused.text()
    assert (await config_of(session)).posts_channel == channel_id(session, "community-posts")

    done = await step(session, "@admin click Done")
    assert "Setup saved" in done.text() and done.buttons() == []


async def test_the_wizard_creates_private_channels_and_a_role_when_missing(session):
    for name in ("community-posts", "mod-queue", "mod-log"):
        await session.emulator.remove_channel_event(channel_id(session, name))
    await session.settle()
    await step(session, "@admin /config setup")
    made_role = await step(session, "@admin click Create a moderator role")
    role = session.emulator.find_role(session.guild_id, "Fibro Circle moderators")
    assert role is not None and "Created" in made_role.text()

    created = await step(session, "@admin click Create channels for me")
    posts = [r for r in created.requests if r.method == "POST" and r.path.endswith("/channels")]
    assert sorted(r.body["name"] for r in posts) == ["community-posts", "mod-log", "mod-queue"]
    config = await config_of(session)
    assert config.moderator_role == int(role["id"])
    emulator, bot_id = session.emulator, session.emulator.application_id
    for name, setting in (("community-posts", "posts_channel"), ("mod-queue", "queue_channel"), ("mod-log", "log_channel")):
        channel = channel_id(session, name)
        assert getattr(config, setting) == channel
        can_view = {who: bool(emulator.channel_permissions(channel, uid) & PERM["view_channel"])
                    for who, uid in PERSONAS.items()}
        assert emulator.channel_permissions(channel, bot_id) & PERM["send_messages"]
        if name == "community-posts":
            assert all(can_view.values())
        else:  # moderators only: a plain member can't read pending posts or decisions
            assert can_view == {"member": False, "moderator": False, "admin": True}
            emulator.add_member(session.guild_id, 310_000_000_000_000_099, role_names=("Fibro Circle moderators",))
            assert emulator.channel_permissions(channel, 310_000_000_000_000_099) & PERM["view_channel"]
    # Running it again creates nothing new.
    again = await step(session, "@admin click Create channels for me")
    assert not [r for r in again.requests if r.method == "POST" and r.path.endswith("/channels")]
    assert "kept" in again.text()


async def test_joining_a_server_posts_a_welcome_whose_button_only_admins_can_use(session):
    session.add_guild(NEW_GUILD, "New Circle")
    start = len(session.emulator.requests)
    await session.emulator.join_guild(NEW_GUILD)
    await session.settle()
    welcome = [r for r in session.emulator.requests[start:] if r.method == "POST" and r.path.endswith("/messages")]
    assert len(welcome) == 1 and welcome[0].path == f"/channels/{channel_id(session, 'general', NEW_GUILD)}/messages"
    assert welcome[0].violations == []
    assert welcome[0].body["components"][0]["components"][0]["label"] == "Set up Fibro Circle"

    refused = await step(session, "@member click Set up Fibro Circle", guild_id=NEW_GUILD)
    assert is_ephemeral(refused) and "Manage Server" in refused.text()
    opened = await step(session, "@admin click Set up Fibro Circle", guild_id=NEW_GUILD)
    assert is_ephemeral(opened) and "Create channels for me" in opened.buttons()
    assert (await config_of(session, NEW_GUILD)).setup_offered is True
