"""Attacks at the edges, as a hostile member or a curious moderator would try them, through the real
bot and the emulator: posts shaped to stall the bot, text hidden from review, anonymity oracles,
storage that cannot be written, what Forget me and withdrawing leave behind, and floods."""

from __future__ import annotations

import pytest

from support import channel_id, newest_post, ready_server, sent_in, share, step

pytestmark = pytest.mark.usefixtures("quick_worker")


# -- 1. one post must not tie up the bot ------------------------------------------------------------

async def test_a_post_shaped_to_stall_the_cleaning_is_answered_and_stalls_nobody(session):
    await ready_server(session)
    hostile = "[](." * 1000  # 4,000 characters; the former link pattern took about a minute on it
    shared = await share(session, hostile)
    assert "Thank you for sharing" in shared.text(), "the member is thanked within the step"
    post = await newest_post(session)
    assert post.text == hostile
    # Others are answered meanwhile, and the moderator sees the post.
    about = await step(session, "@admin /about")
    assert about.text()
    queue = await step(session, "@moderator /mod queue")
    assert post.label in queue.text()


# -- 8. what a moderator approves is exactly what they saw -------------------------------------------

async def test_a_post_that_grows_past_the_limit_when_made_harmless_is_refused_with_its_text(session):
    await ready_server(session)
    body = "@here " * 700  # 4,200 once each @here gets its hidden character
    text = (body + "x" * 4000)[:3755 - len("TAIL-END")] + "TAIL-END"
    shared = await share(session, text)
    answer = shared.text()
    assert "limit is 4,000" in answer and "Nothing was saved" in answer and "@here" in answer
    assert "TAIL-END" in answer, "the member gets their text back"
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 0


async def test_the_review_shows_the_whole_stored_text_and_approval_publishes_exactly_it(session):
    await ready_server(session)
    text = ("@everyone " * 60 + "my legs ache every cold morning. " * 200)[:3930 - len("TAIL-END")] + "TAIL-END"
    shared = await share(session, text)
    post = await newest_post(session)
    assert len(post.text) <= 4000 and post.text.endswith("TAIL-END")
    queue_channel = channel_id(session, "mod-queue")
    [queued] = sent_in(shared, queue_channel)
    shown = queued["embeds"][0]
    whole = shown["description"] + "".join(f["value"] for f in shown["fields"] if f["name"] == "Text, continued")
    assert whole == post.text, "the queue embed holds the whole stored text"
    looked_up = await step(session, f"@moderator /mod post id:{post.number}")
    embed = looked_up.bodies()[-1]["embeds"][0]
    assert embed["description"] + "".join(
        f["value"] for f in embed["fields"] if f["name"] == "Text, continued") == post.text


# -- 4. no oracle for who wrote an anonymous post -----------------------------------------------------

async def test_moderator_tools_answer_the_same_whoever_wrote_an_anonymous_post(session):
    import json

    from emulator.server import PERSONAS
    from support import channel_messages, press

    await ready_server(session)
    await share(session, "My name is on this one: warm baths help my back.", extra="anonymous=named")
    named = await newest_post(session)
    await share(session, "Anonymous this time: I feel judged at work for resting.")
    anonymous = await newest_post(session)
    assert anonymous.anonymous and not named.anonymous
    member = str(PERSONAS["member"])

    blocked = await press(session, f"fibrocircle:post:block:{anonymous.id}", who="moderator", channel="mod-queue")
    assert "can no longer share" in blocked.text() and member not in json.dumps([r.body for r in blocked.requests])

    # /mod unblock member: answers the author exactly as it answers someone never blocked.
    author = await step(session, "@moderator /mod unblock member:@member")
    other = await step(session, "@moderator /mod unblock member:@admin")
    assert author.text().replace(member, "ID") == other.text().replace(str(PERSONAS["admin"]), "ID")
    assert "Nothing changed" in author.text()

    # Block author on the same member's named post answers as for anyone not yet blocked by name.
    named_block = await press(session, f"fibrocircle:post:block:{named.id}", who="moderator", channel="mod-queue")
    assert "can no longer share" in named_block.text() and "already" not in named_block.text()

    # No log line ties the anonymous post to the member.
    log_lines = [m["content"] for m in channel_messages(session, channel_id(session, "mod-log"))]
    assert any("blocked from sharing" in line for line in log_lines)
    assert not any(member in line for line in log_lines), log_lines

    # Lifting the block by the post's number does not lift the block by name, and says only that.
    lifted = await step(session, f"@moderator /mod unblock post:{anonymous.number}")
    assert f"block made from {anonymous.label}" in lifted.text() and member not in lifted.text()
    from bot import posts
    assert await posts.is_blocked(session.bot.db, session.guild_id, PERSONAS["member"])


# -- 6. Forget me erases the member, not the limits or the staff's actions ----------------------------

async def rows_mentioning(session, needle: str) -> list[str]:
    """Every table.column whose text holds `needle`."""
    db = session.bot.db
    found = []
    for table in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for column in await db.fetchall(f"PRAGMA table_info('{table['name']}')"):
            if await db.fetchval(f"SELECT COUNT(*) FROM \"{table['name']}\" WHERE CAST(\"{column['name']}\" AS TEXT)"
                                 " LIKE ?", (f"%{needle}%",)):
                found.append(f"{table['name']}.{column['name']}")
    return found


async def forget(session, who: str):
    await step(session, f"@{who} /mydata")
    await step(session, f"@{who} click Forget me")
    return await step(session, f"@{who} click Yes, delete everything")


async def test_forget_me_keeps_the_limits_and_the_staff_actions_without_the_id(session):
    from emulator.server import PERSONAS
    from support import set_up_everything

    await set_up_everything(session)  # the default cooldown: 5 minutes between posts
    await share(session, "First post: the cold makes my hands ache all morning.")
    await forget(session, "member")
    again = await step(session, "@member /share")
    assert "You can share again in" in again.text(), "the cooldown still holds after Forget me"
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 0

    # A moderator's decision and an admin's change stay after they use Forget me, under a pseudonym.
    await step(session, "@admin /config posting cooldown_seconds:0")
    await share(session, "A post for the moderator to approve, about pacing on good days.", who="admin")
    await step(session, "@moderator click Approve")
    await step(session, "@admin /config crisis-resources text:Call nobody")
    for who in ("moderator", "admin"):
        await forget(session, who)
    rows = await session.bot.db.fetchall("SELECT action, actor_id, actor_pseudonym, detail FROM audit_log")
    actions = {(r["action"], r["actor_pseudonym"]) for r in rows}
    assert ("post.approved", "former member #2") in actions
    assert any(r["action"] == "setting.changed" and "Call nobody" in r["detail"]
               and r["actor_pseudonym"] == "former member #3" for r in rows)
    for who in ("member", "moderator", "admin"):
        assert await rows_mentioning(session, str(PERSONAS[who])) == [], f"the {who}'s id is gone"
    forgotten = [r for r in rows if r["action"] == "member.forgotten"]
    assert len(forgotten) == 3 and all(r["actor_id"] is None for r in forgotten)


# -- 7. a withdrawn crisis post keeps no flag tied to its author ------------------------------------

async def test_a_withdrawn_crisis_post_keeps_no_urgency_or_flags(session):
    await ready_server(session)
    shared = await share(session, "I honestly don't want to be here anymore, the pain never stops.")
    post = await newest_post(session)
    assert post.urgent and "crisis" in post.flags, shared.text()
    await step(session, "@member /myposts")
    await step(session, f"@member click Withdraw #{post.number}")
    await step(session, f"@member click Yes, withdraw #{post.number}")
    db = session.bot.db
    row = await db.fetchone("SELECT urgent, flags, state FROM posts WHERE id = ?", (post.id,))
    assert row["state"] == "withdrawn" and row["urgent"] == 0 and row["flags"] == "[]"
    for table, column, key in (("post_events", "detail", "post_id = ?"), ("audit_log", "detail", "target = 'post:' || ?")):
        details = [r[column] for r in await db.fetchall(f"SELECT {column} FROM {table} WHERE {key}", (post.id,))]
        assert details and not any("crisis" in d or '"urgent": true' in d for d in details), (table, details)


# -- 5. storage that cannot be written is told truthfully ------------------------------------------

async def test_when_the_database_cannot_be_written_nothing_is_claimed_and_reads_go_on(session):
    await ready_server(session)
    await share(session, "Kept post: gentle stretching before bed helps me sleep.")
    kept = await newest_post(session)
    db = session.bot.db
    await db.conn.execute("PRAGMA query_only = 1")  # every write now fails as on a read-only file
    try:
        text = ("Lost post? " + "My knees ache on stairs and on cold mornings. " * 90)[:3990]
        shared = await share(session, text)
        answer = shared.text()
        assert "not saved" in answer and "Nothing you sent was lost" not in answer
        assert "My knees ache on stairs" in answer, "the member gets their text back"

        await step(session, "@member /myposts")
        await step(session, f"@member click Withdraw #{kept.number}")
        withdrawn = await step(session, f"@member click Yes, withdraw #{kept.number}")
        assert "did not happen" in withdrawn.text() and "withdrawn." not in withdrawn.text()

        await step(session, "@member /mydata")
        await step(session, "@member click Forget me")
        forgotten = await step(session, "@member click Yes, delete everything")
        assert "did not happen" in forgotten.text() and "Done." not in forgotten.text()

        # What can be read is still served.
        assert "Post #" in (await step(session, "@moderator /mod queue")).text()
        assert (await step(session, "@member /study summary")).text()
    finally:
        await db.conn.execute("PRAGMA query_only = 0")
    assert await db.fetchval("SELECT COUNT(*) FROM posts") == 1
    assert (await newest_post(session)).state == "pending", "the withdrawal did not happen and is not claimed"


def test_a_real_disk_full_error_counts_as_storage_that_cannot_be_written(tmp_path):
    import sqlite3

    from bot.storage import is_storage_failure
    conn = sqlite3.connect(tmp_path / "full.db", isolation_level=None)
    conn.execute("CREATE TABLE t(x)")
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    assert is_storage_failure(caught.value)
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("SELECT * FROM no_such_table")
    assert not is_storage_failure(caught.value), "a mistake in the SQL is a bug, not a full disk"
    conn.close()


def test_check_reports_a_database_it_cannot_write(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "circle.db"

    def check() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "check", "--db", str(path)], capture_output=True,
                              text=True, timeout=300)  # the timeout only keeps a broken run from hanging

    first = check()
    assert first.returncode == 0 and "database writable: yes" in first.stdout, first.stdout + first.stderr
    # Read-only even for root: the immutable attribute (skipped where the file system has none).
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        second = check()
        assert second.returncode == 1, second.stdout + second.stderr
        assert "database writable: NO" in second.stdout and "can't be written" in second.stdout
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


# -- 3. copies of a withdrawn or forgotten post go too ------------------------------------------------

@pytest.mark.parametrize("how", ["withdraw", "forget"])
async def test_public_quotes_and_shared_copies_of_a_post_go_when_it_is_withdrawn_or_forgotten(session, how):
    import json

    from support import channel_messages, wait_for

    await ready_server(session)
    marker = "zebrafinch-4471"
    await share(session, f"My {marker} trick: a heated blanket eases the morning stiffness in my joints.",
                extra="anonymous=named")
    post = await newest_post(session)
    await step(session, "@moderator click Approve")
    general = channel_id(session, "general")

    def copies() -> list[dict]:
        return [m for m in session.emulator.messages.values()
                if m["channel_id"] == str(general) and not int(m.get("flags") or 0) & 64 and marker in json.dumps(m)]

    public = await step(session, f"@admin /quote topic:{marker} ephemeral:False")
    assert marker in public.text()
    await step(session, f"/quote topic:{marker}")
    await step(session, "click Share here")
    await wait_for(lambda: len(copies()) == 2)
    assert len(copies()) == 2, "a public reply and a shared copy show the post in #general"

    if how == "withdraw":
        await step(session, "@member /myposts")
        await step(session, f"@member click Withdraw #{post.number}")
        done = await step(session, f"@member click Yes, withdraw #{post.number}")
    else:
        await step(session, "@member /mydata")
        await step(session, "@member click Forget me")
        done = await step(session, "@member click Yes, delete everything")
        assert "4 messages showing your posts are being removed" in done.text(), done.text()  # queue, published, 2 copies
    await wait_for(lambda: not copies())
    assert not channel_messages(session, channel_id(session, "community-posts"))


# -- 9. floods, forged presses, payload logging, hostile strings ------------------------------------

async def test_quote_and_study_ask_have_a_per_member_limit_with_a_kind_message(session):
    from bot.limits import ASK_RATE
    await ready_server(session)
    answers = [await step(session, "/quote topic:sleep ephemeral:True") for _ in range(ASK_RATE + 3)]
    paused = [a for a in answers if "pausing yours for a moment" in a.text()]
    assert len(paused) == 3 and "Nothing was changed" in paused[0].text()
    shown = await session.bot.db.fetchval("SELECT COUNT(DISTINCT shown_at) FROM quote_history")
    assert shown <= ASK_RATE, "refused searches write no history"
    asks = [await step(session, "/study ask question:how many people took part") for _ in range(ASK_RATE + 2)]
    assert sum("pausing yours" in a.text() for a in asks) == 2
    # Another member is not held up by the first one's limit.
    assert "pausing" not in (await step(session, "@admin /quote topic:sleep")).text()


async def test_forged_moderator_presses_are_refused_and_mirrored_once_with_a_count(session):
    from support import channel_messages, press
    await ready_server(session)
    await share(session, "A post a member will try to approve by hand: warm showers help.")
    post = await newest_post(session)
    log_channel = channel_id(session, "mod-log")
    before = len(channel_messages(session, log_channel))
    answers = [await press(session, f"fibrocircle:post:approve:{post.id}", who="member") for _ in range(40)]
    assert all(a.answered for a in answers)
    assert sum("Only this server's moderators" in a.text() for a in answers) >= 1
    assert sum("faster than I can keep up" in a.text() for a in answers) >= 1, "a flood of presses is paused"
    assert len(channel_messages(session, log_channel)) - before == 1, "one log line, not forty"
    assert (await newest_post(session)).state == "pending"
    refused = await session.bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'moderation.refused'")
    assert refused >= 1


async def test_no_member_text_or_name_is_logged_even_at_debug_level(session):
    import logging

    from emulator.server import PERSONAS
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(f"{record.name} {record.getMessage()}")

    await ready_server(session)
    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("discord", "fibrocircle")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        marker = "okapi-9931 my shoulders ache when I carry the shopping"
        await share(session, marker, extra="anonymous=named")
        await step(session, "/quote topic:okapi-9931 shoulders")
        await step(session, "@moderator click Approve")
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(handler)
            lg.setLevel(level)
    name = session.emulator.users[PERSONAS["member"]]["global_name"] or session.emulator.users[PERSONAS["member"]]["username"]
    assert not [r for r in records if "okapi-9931" in r], "no member text in any log record"
    assert not [r for r in records if name in r], "no member name in any log record"


async def test_hostile_strings_get_a_clear_answer(session):
    from emulator.server import PERSONAS
    await ready_server(session)
    channel = channel_id(session, "general")
    # A lone surrogate in /quote topic: (JSON can carry it; UTF-8 cannot).
    payload = session.emulator.interaction_payload(
        2, guild_id=session.guild_id, channel_id=channel, user_id=PERSONAS["member"],
        data={"id": "1", "name": "quote", "type": 1, "options": [{"name": "topic", "type": 3, "value": "\ud800sleep"}]})
    result = await session.run_payload(payload, label="/quote topic:<lone surrogate>sleep")
    assert result.answered and result.errors == [] and "something went wrong" not in result.text().lower()
    assert "sleep" in result.text().lower()
    # Invisible Unicode tag characters are taken out of a post and flagged for the moderator.
    await share(session, "My hands ache \U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 in the cold mornings.")
    post = await newest_post(session)
    assert not any(0xE0000 <= ord(ch) <= 0xE007F for ch in post.text)
    assert "hidden_characters_removed" in post.flags


# -- publishing and DMs exactly once, across lost answers ----------------------------------------------

async def test_a_lost_answer_from_discord_does_not_publish_or_dm_twice(session):
    from emulator.server import PERSONAS, Fault
    from support import channel_messages, wait_for
    await ready_server(session)
    await share(session, "One copy only, please: my feet hurt most after standing in queues.")
    post = await newest_post(session)
    emulator = session.emulator
    posts_channel = channel_id(session, "community-posts")
    # The author's DM channel, as Discord would open it.
    dm = emulator.snowflake()
    emulator.channels[dm] = {"id": str(dm), "type": 1, "recipients": [emulator.users[PERSONAS["member"]]],
                             "last_message_id": None, "flags": 0}
    emulator.dm_channels[PERSONAS["member"]] = dm
    # Discord makes the message, but the bot never hears back: discord.py tries five times within one
    # send (with one nonce of its own), gives up, and the worker sends again in a later round.
    for channel in (posts_channel, dm):
        emulator.faults.append(Fault(method="POST", path_prefix=f"/channels/{channel}/messages", status=500,
                                     times=5, lost_answer=True))
    await step(session, "@moderator click Approve")

    async def settled() -> bool:
        from bot import posts as core
        done = await core.get_post(session.bot.db, post.id)
        return done.publish_state == "published" and done.author_notified is not None
    await wait_for(settled)
    assert all(f.times == 0 for f in emulator.faults), "every answer of the first send was lost"
    assert len(channel_messages(session, posts_channel)) == 1
    assert len([m for m in emulator.messages.values() if m["channel_id"] == str(dm)]) == 1
    assert emulator.duplicates() == {"published": 0, "dms": 0}
