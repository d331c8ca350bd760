import asyncio
import json
import logging
import re

import pytest

from bot import audit
from bot.errors import UserFacingError
from bot.guild_settings import (
    EXPORT_FORMAT,
    SETTINGS,
    GuildConfig,
    GuildSettings,
    UnknownSetting,
    admin_settings,
    describe,
    lookup,
    parse_value,
    read_settings_file,
    setup_gaps,
)
from bot.safety import DEFAULT_CRISIS_RESOURCES

GUILD_A, GUILD_B = 100000000000000001, 200000000000000002
ADMIN = 300000000000000003
POSTS, QUEUE, LOG = 410000000000000001, 420000000000000002, 430000000000000003
MODS = 510000000000000001


@pytest.fixture
def settings(db):
    return GuildSettings(db)


async def stored(db, guild_id):
    rows = await db.fetchall("SELECT key, value FROM guild_settings WHERE guild_id = ?", (guild_id,))
    return {r["key"]: json.loads(r["value"]) for r in rows}


async def audit_count(db):
    return await db.fetchval("SELECT COUNT(*) FROM audit_log")


# -- declarations and defaults -------------------------------------------------------------------

def test_declarations_are_complete_and_their_defaults_are_valid():
    required = {"posts_channel", "queue_channel", "log_channel", "moderator_role", "crisis_resources",
                "posting_enabled", "anonymous_allowed", "cooldown_seconds", "daily_cap",
                "min_member_age_hours", "decisions_anonymous", "setup_offered"}
    assert required <= set(SETTINGS)
    for s in SETTINGS.values():
        assert s.validate(s.default) == s.default, s.name
        assert 1 <= len(s.description) <= 100, s.name
    assert [s.name for s in admin_settings()] == [n for n in SETTINGS if n != "setup_offered"]


async def test_a_new_server_gets_the_declared_defaults(settings):
    config = await settings.get(GUILD_A)
    assert config.guild_id == GUILD_A
    assert (config.posts_channel, config.queue_channel, config.log_channel, config.moderator_role) == (None,) * 4
    assert config.crisis_resources == DEFAULT_CRISIS_RESOURCES
    assert config.posting_enabled is True and config.anonymous_allowed is True
    assert (config.cooldown_seconds, config.daily_cap, config.min_member_age_hours) == (300, 5, 0)
    assert config.decisions_anonymous is True and config.setup_offered is False
    assert all(config.is_default(name) for name in SETTINGS)


async def test_config_is_frozen_and_misspellings_fail_loudly(settings):
    config = await settings.get(GUILD_A)
    with pytest.raises(AttributeError):
        config.cooldown_seconds = 1
    with pytest.raises(AttributeError):
        config.cooldown  # noqa: B018  (misspelt attribute)
    with pytest.raises(UnknownSetting):
        config.is_default("cooldown")
    with pytest.raises(KeyError):  # UnknownSetting is a KeyError: code, not a member, made the mistake
        await settings.set(GUILD_A, "cooldwn_seconds", 10, actor_id=ADMIN)
    with pytest.raises(UnknownSetting):
        await settings.reset(GUILD_A, "posts", actor_id=ADMIN)
    with pytest.raises(UnknownSetting):
        await settings.set_many(GUILD_A, {"daily_cap": 3, "dailycap": 3}, actor_id=ADMIN)
    assert await stored(settings.db, GUILD_A) == {} and await audit_count(settings.db) == 0


# -- changing values -----------------------------------------------------------------------------

async def test_set_is_visible_at_once_and_audited_with_old_and_new(settings, db):
    before = await settings.get(GUILD_A)  # fills the cache
    change = await settings.set(GUILD_A, "cooldown_seconds", 60, actor_id=ADMIN)
    assert (change.name, change.old, change.new, change.changed) == ("cooldown_seconds", 300, 60, True)
    after = await settings.get(GUILD_A)
    assert before.cooldown_seconds == 300 and after.cooldown_seconds == 60
    assert not after.is_default("cooldown_seconds") and after.is_default("daily_cap")
    assert await stored(db, GUILD_A) == {"cooldown_seconds": 60}

    [entry] = await audit.recent(db, GUILD_A)
    assert entry == change.audit
    assert (entry.actor_id, entry.action, entry.target) == (ADMIN, audit.SETTING_CHANGED, "cooldown_seconds")
    assert entry.detail == {"setting": "cooldown_seconds", "kind": "int", "old": 300, "new": 60, "how": "set"}
    assert audit.format_entry(entry).startswith(f"Cooldown changed from 5 minutes to 1 minute by <@{ADMIN}> · ")


async def test_setting_the_same_value_again_writes_nothing(settings, db):
    await settings.set(GUILD_A, "daily_cap", 3, actor_id=ADMIN)
    again = await settings.set(GUILD_A, "daily_cap", 3, actor_id=ADMIN)
    assert not again.changed and again.audit is None
    assert await audit_count(db) == 1


async def test_channel_ids_are_stored_as_text_and_read_back_as_ints(settings, db):
    await settings.set(GUILD_A, "posts_channel", POSTS, actor_id=ADMIN)
    assert await stored(db, GUILD_A) == {"posts_channel": str(POSTS)}
    settings.invalidate()
    assert (await settings.get(GUILD_A)).posts_channel == POSTS
    [entry] = await audit.recent(db, GUILD_A)
    assert entry.detail["old"] is None and entry.detail["new"] == str(POSTS)


async def test_reset_removes_the_row_and_is_audited(settings, db):
    await settings.set(GUILD_A, "moderator_role", MODS, actor_id=ADMIN)
    change = await settings.reset(GUILD_A, "moderator_role", actor_id=ADMIN + 1)
    assert (change.old, change.new) == (MODS, None)
    assert await stored(db, GUILD_A) == {}
    assert (await settings.get(GUILD_A)).moderator_role is None
    newest = (await audit.recent(db, GUILD_A))[0]
    assert newest.actor_id == ADMIN + 1 and newest.detail["how"] == "reset"
    assert newest.detail["old"] == str(MODS) and newest.detail["new"] is None


async def test_setting_a_value_back_to_its_default_removes_the_row(settings, db):
    await settings.set(GUILD_A, "posting_enabled", False, actor_id=ADMIN)
    await settings.set(GUILD_A, "posting_enabled", True, actor_id=ADMIN)
    assert await stored(db, GUILD_A) == {}
    assert await audit_count(db) == 2


# -- refusing bad values -------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, message", [
    ("cooldown_seconds", -5,
     "Cooldown must be between 0 and 86,400 seconds; you gave -5. 0 turns the cooldown off; "
     "86,400 is one day. Nothing was changed."),
    ("daily_cap", 10_000, "Daily cap must be between 1 and 50 posts a day; you gave 10,000."),
    ("daily_cap", 0, "To stop posting altogether, turn posting off instead."),
    ("min_member_age_hours", 721, "between 0 and 720 hours; you gave 721"),
    ("cooldown_seconds", "60", "Cooldown must be a whole number between 0 and 86,400 seconds; you gave '60'."),
    ("cooldown_seconds", True, "must be a whole number"),
    ("cooldown_seconds", 1.5, "must be a whole number"),
    ("posting_enabled", "yes", "Posting must be on or off; you gave 'yes'."),
    ("anonymous_allowed", 1, "Anonymous posting must be on or off; you gave 1."),
    ("crisis_resources", "x" * 1001, "at most 1,000 characters so that it fits in one message field; yours has 1,001."),
    ("crisis_resources", "   \n ", "can't be empty"),
    ("crisis_resources", "\u200b\u200b", "can't be empty"),
    ("crisis_resources", "Call 988\u202e", "invisible control characters"),
    ("crisis_resources", "Call\x00 988", "invisible control characters"),
    ("crisis_resources", 988, "must be text"),
    ("posts_channel", -1, "Posts channel must be a channel of this server, or empty; -1 is not a channel id."),
    ("posts_channel", str(POSTS), "is not a channel id"),
    ("moderator_role", 2**64, "is not a role id"),
])
async def test_bad_values_are_refused_with_a_reason_and_change_nothing(settings, db, name, value, message):
    await settings.get(GUILD_A)
    with pytest.raises(UserFacingError) as refused:
        await settings.set(GUILD_A, name, value, actor_id=ADMIN)
    assert message in str(refused.value)
    assert str(refused.value).endswith("Nothing was changed.")
    assert await stored(db, GUILD_A) == {} and await audit_count(db) == 0
    assert (await settings.get(GUILD_A)).is_default(name)


async def test_crisis_text_at_the_limit_is_kept_trimmed(settings):
    text = "Call your local crisis line.\r\n" + "x" * (1000 - 29)
    change = await settings.set(GUILD_A, "crisis_resources", "  " + text + "  ", actor_id=ADMIN)
    assert len(change.new) == 1000 and change.new.startswith("Call your local crisis line.\nxx")


async def test_set_many_is_all_or_nothing_and_lists_every_bad_value(settings, db):
    with pytest.raises(UserFacingError) as refused:
        await settings.set_many(GUILD_A, {"daily_cap": 3, "cooldown_seconds": -5, "posting_enabled": "no"},
                                actor_id=ADMIN)
    message = str(refused.value)
    assert "Cooldown must be between" in message and "Posting must be on or off" in message
    assert message.count("Nothing was changed.") == 1
    assert await stored(db, GUILD_A) == {} and await audit_count(db) == 0

    changes = await settings.set_many(
        GUILD_A, {"posts_channel": POSTS, "queue_channel": QUEUE, "moderator_role": MODS, "daily_cap": 5},
        actor_id=ADMIN, how="wizard")
    assert [c.name for c in changes] == ["posts_channel", "queue_channel", "moderator_role"]  # daily_cap unchanged
    entries = await audit.recent(db, GUILD_A)
    assert len(entries) == 3 and {e.detail["how"] for e in entries} == {"wizard"}


async def test_a_failed_audit_write_rolls_the_change_back(settings, db, monkeypatch):
    async def broken_record(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken_record)
    with pytest.raises(RuntimeError, match="disk full"):
        await settings.set(GUILD_A, "daily_cap", 9, actor_id=ADMIN)
    assert await stored(db, GUILD_A) == {}
    assert (await settings.get(GUILD_A)).daily_cap == 5


# -- what admins type ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, raw, expected", [
    ("posting_enabled", "Off", False),
    ("posting-enabled", "yes", True),
    ("Decisions Anonymous", "disabled", False),
    ("cooldown_seconds", " 1,800 ", 1800),
    ("posts_channel", f"<#{POSTS}>", POSTS),
    ("posts_channel", str(POSTS), POSTS),
    ("moderator_role", f"<@&{MODS}>", MODS),
    ("moderator_role", "none", None),
    ("crisis_resources", "  Call 000 (Australia).  ", "Call 000 (Australia)."),
])
def test_parse_value_reads_what_admins_type(name, raw, expected):
    assert parse_value(name, raw) == expected


@pytest.mark.parametrize("name, raw, message", [
    ("cooldown_seconds", "five", "must be a whole number"),
    ("cooldown_seconds", "-5", "you gave -5."),
    ("posting_enabled", "maybe", "must be on or off"),
    ("posts_channel", "#general", "pick it from the list"),
    ("moderator_role", f"<#{POSTS}>", "pick it from the list"),
    ("cooldown", "5", "There is no setting called 'cooldown'. Did you mean cooldown_seconds?"),
    ("setup_offered", "on", "There is no setting called 'setup_offered'."),
])
def test_parse_value_refuses_with_a_reason(name, raw, message):
    with pytest.raises(UserFacingError) as refused:
        parse_value(name, raw)
    assert message in str(refused.value)


def test_lookup_suggests_the_nearest_setting():
    assert lookup("Daily-Cap").name == "daily_cap"
    with pytest.raises(UserFacingError, match="Did you mean moderator_role"):
        lookup("moderator_rol")


# -- servers never see each other's settings -----------------------------------------------------

async def test_two_servers_are_isolated(settings, db):
    await settings.set_many(GUILD_A, {"posts_channel": POSTS, "daily_cap": 2, "posting_enabled": False},
                            actor_id=ADMIN)
    a, b = await settings.get(GUILD_A), await settings.get(GUILD_B)
    assert (a.posts_channel, a.daily_cap, a.posting_enabled) == (POSTS, 2, False)
    assert all(b.is_default(n) for n in SETTINGS)
    assert (await settings.export(GUILD_B))["settings"]["posts_channel"] is None
    assert await audit.recent(db, GUILD_B) == []

    await settings.set(GUILD_B, "daily_cap", 7, actor_id=ADMIN)
    assert (await settings.get(GUILD_A)).daily_cap == 2
    assert await settings.forget_channel(GUILD_B, POSTS) == []  # B never used that channel
    assert (await settings.get(GUILD_A)).posts_channel == POSTS
    await settings.reset(GUILD_B, "daily_cap", actor_id=ADMIN)
    assert (await settings.get(GUILD_A)).daily_cap == 2


# -- deleted channels and roles ------------------------------------------------------------------

async def test_a_deleted_channel_is_forgotten_everywhere_it_was_used(settings, db):
    await settings.set_many(GUILD_A, {"posts_channel": POSTS, "log_channel": POSTS, "queue_channel": QUEUE},
                            actor_id=ADMIN)
    before = await audit_count(db)
    assert await settings.forget_channel(GUILD_A, POSTS) == ["posts_channel", "log_channel"]
    config = await settings.get(GUILD_A)
    assert (config.posts_channel, config.log_channel, config.queue_channel) == (None, None, QUEUE)
    entries = (await audit.recent(db, GUILD_A))[: await audit_count(db) - before]
    assert len(entries) == 2
    assert all(e.actor_id is None and e.detail["how"] == "channel deleted" for e in entries)
    assert "channel cleared because its channel" in audit.format_entry(entries[0])
    # Nothing uses it any more: no transaction, no audit row.
    assert await settings.forget_channel(GUILD_A, POSTS) == []
    assert await settings.forget_channel(GUILD_A, 999) == []
    assert await audit_count(db) == before + 2


async def test_a_deleted_role_is_forgotten(settings, db):
    await settings.set(GUILD_A, "moderator_role", MODS, actor_id=ADMIN)
    assert await settings.forget_channel(GUILD_A, MODS) == []  # same id, but it's a role
    assert await settings.forget_role(GUILD_A, MODS) == ["moderator_role"]
    assert (await settings.get(GUILD_A)).moderator_role is None
    assert (await audit.recent(db, GUILD_A))[0].detail["how"] == "role deleted"


# -- export and import ---------------------------------------------------------------------------

async def configure(settings, guild_id):
    await settings.set_many(guild_id, {
        "posts_channel": POSTS, "queue_channel": QUEUE, "log_channel": LOG, "moderator_role": MODS,
        "crisis_resources": "UK: call Samaritans on 116 123.", "anonymous_allowed": False,
        "cooldown_seconds": 0, "daily_cap": 50, "min_member_age_hours": 24, "decisions_anonymous": False,
        "setup_offered": True,
    }, actor_id=ADMIN)


async def test_export_then_import_into_a_fresh_server_reproduces_the_settings(settings, db):
    await configure(settings, GUILD_A)
    exported = await settings.export(GUILD_A)
    assert exported["format"] == EXPORT_FORMAT and exported["version"] == 1
    assert set(exported) == {"format", "version", "settings"}
    assert "setup_offered" not in exported["settings"]  # the bot's own bookkeeping, not setup
    assert exported["settings"]["posts_channel"] == str(POSTS)
    file_text = json.dumps(exported)  # what /config export sends

    changes = await settings.import_(GUILD_B, read_settings_file(file_text.encode()), actor_id=ADMIN)
    a, b = await settings.get(GUILD_A), await settings.get(GUILD_B)
    assert {n: getattr(b, n) for n in exported["settings"]} == {n: getattr(a, n) for n in exported["settings"]}
    assert b.setup_offered is False
    assert len(changes) == 10 and changes.skipped == []
    entries = await audit.recent(db, GUILD_B, limit=50)
    assert len(entries) == 10 and {e.detail["how"] for e in entries} == {"import"}
    # Importing the same file again changes nothing.
    assert await settings.import_(GUILD_B, exported, actor_id=ADMIN) == []


async def test_a_bad_file_changes_nothing_and_names_the_wrong_keys(settings, db):
    data = await settings.export(GUILD_A)
    data["settings"].update(daily_cap=10_000, cooldwn_seconds=5, posts_channel="general", posting_enabled=False)
    with pytest.raises(UserFacingError) as refused:
        await settings.import_(GUILD_B, data, actor_id=ADMIN)
    message = str(refused.value)
    assert "daily_cap: Daily cap must be between 1 and 50" in message
    assert "'cooldwn_seconds': not a setting (did you mean cooldown_seconds?)" in message
    assert "posts_channel: Posts channel must be a channel" in message
    assert "posting_enabled" not in message and message.endswith("Nothing was changed.")
    assert await stored(db, GUILD_B) == {} and await audit_count(db) == 0


@pytest.mark.parametrize("data, message", [
    ([1, 2], "not a settings file"),
    ({"settings": {}}, "not a settings file"),
    ({"format": EXPORT_FORMAT, "version": "1", "settings": {}}, "not a settings file"),
    ({"format": EXPORT_FORMAT, "version": 2, "settings": {}}, "newer version of the bot"),
    ({"format": EXPORT_FORMAT, "version": 1}, "no \"settings\" section"),
    ({"format": EXPORT_FORMAT, "version": 1, "settings": {"setup_offered": True}}, "'setup_offered': not a setting"),
])
async def test_files_that_are_not_settings_files_are_refused(settings, data, message):
    with pytest.raises(UserFacingError, match=re.escape(message)):
        await settings.import_(GUILD_B, data, actor_id=ADMIN)


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "not valid JSON (line 1, column 2"),
    (b"\xff\xfe\x00", "not text"),
    (b" " * 70_000, "is at most 65,536"),
    (b"[]", "not a settings file"),
])
def test_read_settings_file_refuses_broken_files(raw, message):
    with pytest.raises(UserFacingError, match=re.escape(message)):
        read_settings_file(raw)


async def test_import_accepts_ids_as_numbers_and_a_partial_file(settings):
    await settings.set(GUILD_B, "daily_cap", 9, actor_id=ADMIN)
    data = {"format": EXPORT_FORMAT, "version": 1, "settings": {"posts_channel": POSTS, "cooldown_seconds": 60}}
    await settings.import_(GUILD_B, data, actor_id=ADMIN)
    config = await settings.get(GUILD_B)
    assert (config.posts_channel, config.cooldown_seconds, config.daily_cap) == (POSTS, 60, 9)


async def test_ids_missing_from_the_target_server_are_refused_or_skipped(settings, db):
    await configure(settings, GUILD_A)
    data = await settings.export(GUILD_A)
    here = {("channel", POSTS), ("channel", QUEUE)}  # the log channel and the role don't exist here
    checked = []

    def exists(kind, thing_id):
        checked.append((kind, thing_id))
        return (kind, thing_id) in here

    with pytest.raises(UserFacingError) as refused:
        await settings.import_(GUILD_B, data, actor_id=ADMIN, exists=exists)
    message = str(refused.value)
    assert f"log_channel: channel {LOG} does not exist" in message
    assert f"moderator_role: role {MODS} does not exist" in message and "posts_channel" not in message
    assert sorted(checked) == sorted([("channel", POSTS), ("channel", QUEUE), ("channel", LOG), ("role", MODS)])
    assert await stored(db, GUILD_B) == {}

    async def exists_async(kind, thing_id):  # a cog may need to fetch
        return (kind, thing_id) in here

    result = await settings.import_(GUILD_B, data, actor_id=ADMIN, exists=exists_async, missing="skip")
    config = await settings.get(GUILD_B)
    assert (config.posts_channel, config.queue_channel, config.log_channel, config.moderator_role) == (
        POSTS, QUEUE, None, None)
    assert config.daily_cap == 50 and config.crisis_resources == "UK: call Samaritans on 116 123."
    assert len(result.skipped) == 2 and f"log_channel was left as it is: channel {LOG}" in result.skipped[0]
    assert {c.name for c in result} >= {"posts_channel", "queue_channel", "daily_cap"}


# -- the cache -----------------------------------------------------------------------------------

async def test_two_settings_objects_over_one_database_never_serve_stale_values(db):
    first, second = GuildSettings(db), GuildSettings(db)
    assert (await first.get(GUILD_A)).daily_cap == 5
    assert (await second.get(GUILD_A)).daily_cap == 5
    await second.set(GUILD_A, "daily_cap", 2, actor_id=ADMIN)
    assert (await first.get(GUILD_A)).daily_cap == 2
    await first.forget_channel(GUILD_A, POSTS)
    await first.set(GUILD_A, "posts_channel", POSTS, actor_id=ADMIN)
    await second.forget_channel(GUILD_A, POSTS)
    assert (await first.get(GUILD_A)).posts_channel is None


async def test_get_is_served_from_the_cache(settings, db, monkeypatch):
    await settings.get(GUILD_A)
    calls = []
    real = db.fetchall

    async def counting(sql, params=()):
        calls.append(sql)
        return await real(sql, params)

    monkeypatch.setattr(db, "fetchall", counting)
    for _ in range(5):
        await settings.get(GUILD_A)
    assert calls == []
    await settings.set(GUILD_A, "daily_cap", 4, actor_id=ADMIN)
    assert (await settings.get(GUILD_A)).daily_cap == 4 and len(calls) == 1


async def test_a_read_that_overlaps_a_write_is_not_cached(settings, db, monkeypatch):
    """A get() that read the old rows while a set() committed must not leave them in the cache."""
    await settings.set(GUILD_A, "daily_cap", 2, actor_id=ADMIN)
    read_done, release = asyncio.Event(), asyncio.Event()
    real = db.fetchall

    async def slow_read(sql, params=()):
        rows = await real(sql, params)  # the old rows
        read_done.set()
        await release.wait()
        return rows

    monkeypatch.setattr(db, "fetchall", slow_read)
    reader = asyncio.create_task(settings.get(GUILD_A))
    await read_done.wait()
    monkeypatch.setattr(db, "fetchall", real)
    await settings.set(GUILD_A, "daily_cap", 3, actor_id=ADMIN)
    release.set()
    assert (await reader).daily_cap == 2  # it began before the write
    assert (await settings.get(GUILD_A)).daily_cap == 3


async def test_another_connection_needs_invalidate(db, tmp_path):
    """One process owns the database; a write from elsewhere is seen after invalidate()."""
    ours = GuildSettings(db)
    assert (await ours.get(GUILD_A)).daily_cap == 5
    async with db.sibling() as elsewhere:
        await GuildSettings(elsewhere).set(GUILD_A, "daily_cap", 8, actor_id=ADMIN)
    if db.dialect.name == "sqlite":  # on PostgreSQL the change's notice clears it (test_storage_pg.py)
        assert (await ours.get(GUILD_A)).daily_cap == 5
    ours.invalidate(GUILD_A)
    assert (await ours.get(GUILD_A)).daily_cap == 8


async def test_a_stored_value_the_code_no_longer_accepts_falls_back_to_the_default(settings, db, caplog):
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO guild_settings VALUES (?, 'daily_cap', '500', 'then', NULL)", (GUILD_A,))
        await tx.execute("INSERT INTO guild_settings VALUES (?, 'old_setting', '1', 'then', NULL)", (GUILD_A,))
    with caplog.at_level(logging.WARNING):
        config = await settings.get(GUILD_A)
    assert config.daily_cap == 5
    assert "daily_cap is not valid any more" in caplog.text and "old_setting" in caplog.text
    await settings.reset(GUILD_A, "daily_cap", actor_id=ADMIN)  # clears the stale row, nothing to audit
    assert "daily_cap" not in await stored(db, GUILD_A) and await audit_count(db) == 0


# -- /config show ---------------------------------------------------------------------------------

async def test_describe_gives_values_kinds_and_defaults(settings):
    await settings.set_many(GUILD_A, {"posts_channel": POSTS, "moderator_role": MODS, "cooldown_seconds": 1800,
                                      "min_member_age_hours": 48, "posting_enabled": False}, actor_id=ADMIN)
    views = {v.name: v for v in describe(await settings.get(GUILD_A))}
    assert list(views) == [s.name for s in admin_settings()]
    assert (views["posts_channel"].value_text, views["posts_channel"].kind, views["posts_channel"].value) == (
        f"<#{POSTS}>", "channel", POSTS)
    assert views["queue_channel"].value_text == "not set" and views["queue_channel"].is_default
    assert views["moderator_role"].value_text == f"<@&{MODS}>" and not views["moderator_role"].is_default
    assert views["cooldown_seconds"].value_text == "1,800 seconds (30 minutes)"
    assert views["min_member_age_hours"].value_text == "48 hours (2 days)"
    assert views["daily_cap"].value_text == "5 posts a day" and views["daily_cap"].is_default
    assert views["posting_enabled"].value_text == "off"
    assert views["crisis_resources"].value_text == DEFAULT_CRISIS_RESOURCES
    assert all(len(v.value_text) <= 1024 for v in views.values())
    assert "setup_offered" in {v.name for v in describe(await settings.get(GUILD_A), include_internal=True)}


def test_setup_gaps_name_what_is_missing():
    fresh = GuildConfig.build(GUILD_A, {})
    assert len(setup_gaps(fresh)) == 4 and any("moderator role" in g for g in setup_gaps(fresh))
    done = GuildConfig.build(GUILD_A, {"posts_channel": POSTS, "queue_channel": QUEUE, "log_channel": LOG,
                                       "moderator_role": MODS})
    assert setup_gaps(done) == []
    assert setup_gaps(GuildConfig.build(GUILD_A, {**done.as_dict(), "posting_enabled": False}))[0].startswith(
        "Posting is off")
