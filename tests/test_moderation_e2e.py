"""The moderation queue through the emulator, as moderators (and members who try) use it: the
queue buttons, /mod, refusals and forged ids, restarts, and publishing when Discord misbehaves."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot import audit, posts
from emulator.server import PERM, PERSONAS, Fault
from emulator.session import BotSession
from support import OTHER_GUILD, channel_id, channel_messages, is_ephemeral, newest_post, press, ready_server, sent_in, share, step, wait_for


pytestmark = pytest.mark.usefixtures("quick_worker")


async def refusals(session: BotSession) -> list[audit.AuditEntry]:
    return await audit.recent(session.bot.db, session.guild_id, action="moderation.refused")


def published(session: BotSession) -> list[dict]:
    return channel_messages(session, channel_id(session, "community-posts"))


def queue_message(session: BotSession) -> dict:
    found = channel_messages(session, channel_id(session, "mod-queue"))
    assert len(found) == 1, [m["content"] for m in found]
    return found[0]


# -- who may decide ---------------------------------------------------------------------------

async def test_a_member_pressing_approve_is_refused_audited_and_nothing_changes(session):
    await ready_server(session)
    await share(session, "Brain fog made me miss my bus stop twice this week.")
    refused = await step(session, "@member click Approve")
    assert is_ephemeral(refused)
    assert "Only this server's moderators can review posts" in refused.text()
    post = await newest_post(session)
    assert post.state == "pending"
    entries = await refusals(session)
    assert len(entries) == 1 and entries[0].actor_id == PERSONAS["member"] and entries[0].target == f"post:{post.id}"
    assert entries[0].detail == {"attempted": "approve"}
    log_lines = [b["content"] for b in sent_in(refused, channel_id(session, "mod-log"))]
    assert any("without the moderator role; nothing changed" in line for line in log_lines), \
        "the refusal is mirrored to the log channel"
    assert "Approve" in [c["label"] for row in queue_message(session)["components"] for c in row["components"]]
    for label in ("Reject", "Block author"):
        await step(session, f"@member click {label}")
    assert len(await refusals(session)) == 3
    assert (await newest_post(session)).state == "pending"
    assert not await posts.is_blocked(session.bot.db, session.guild_id, PERSONAS["member"])


async def test_the_moderator_role_counts_once_it_is_set_and_manage_server_always_does(session):
    await step(session, "@admin /config channel kind:queue channel:mod-queue")
    await share(session, "Stretching before bed helps me a little.")
    refused = await step(session, "@moderator click Approve")
    assert "Only this server's moderators" in refused.text(), "no moderator role is set yet"
    await step(session, "@admin /config moderator-role role:Moderators")
    await step(session, "@moderator /mod queue")
    assert len(await refusals(session)) == 1, "only the press before the role was set"
    approved = await step(session, "@admin /mod queue")
    assert "Pending post 1 of 1" in approved.text()
    await step(session, "@admin click Approve")
    assert (await newest_post(session)).state == "approved"


async def test_members_cannot_use_mod_commands_and_the_attempt_is_audited(session):
    await ready_server(session)
    for command in ("/mod queue", "/mod post id:1", "/mod unblock member:@admin"):
        refused = await step(session, f"@member {command}")
        assert is_ephemeral(refused) and "Only this server's moderators" in refused.text()
    assert [e.detail["attempted"] for e in await refusals(session)] == ["mod unblock", "mod post", "mod queue"]


# -- forged and stale buttons -----------------------------------------------------------------

async def test_forged_button_ids_are_refused(two_guilds):
    session = two_guilds
    await ready_server(session)
    await ready_server(session, OTHER_GUILD)
    await share(session, "A post in the other server about fatigue.", guild_id=OTHER_GUILD)
    theirs = await newest_post(session, OTHER_GUILD)
    await share(session, "A post here about sleep and pain at night.")
    ours = await newest_post(session)

    # Another server's post: refused with the same words as a post that does not exist.
    other = await press(session, f"fibrocircle:post:approve:{theirs.id}", who="moderator", channel="mod-queue")
    assert is_ephemeral(other) and "does not exist in this server" in other.text()
    missing = await press(session, "fibrocircle:post:approve:999999", who="moderator", channel="mod-queue")
    assert missing.text() == other.text()
    assert (await posts.get_post(session.bot.db, theirs.id)).state == "pending"
    block = await press(session, f"fibrocircle:post:block:{theirs.id}", who="moderator", channel="mod-queue")
    assert "does not exist in this server" in block.text()
    assert not await posts.is_blocked(session.bot.db, session.guild_id, PERSONAS["member"])

    # An already decided post: the second decision is refused, the first stands.
    await step(session, "@moderator click Approve")
    again = await press(session, f"fibrocircle:post:reject:{ours.id}", who="moderator", channel="mod-queue")
    assert is_ephemeral(again) and "Post #1 was already approved" in again.text()
    twice = await press(session, f"fibrocircle:post:approve:{ours.id}", who="admin", channel="mod-queue")
    assert "already approved" in twice.text()
    assert (await newest_post(session)).state == "approved"

    # Not a number, and an action that does not exist: no handler matches, the fallback answers.
    for custom_id in ("fibrocircle:post:approve:abc", "fibrocircle:post:approve:", "fibrocircle:post:publish:1",
                      "fibrocircle:post:approve:99999999999999999999999"):
        stale = await press(session, custom_id, who="moderator", channel="mod-queue")
        assert is_ephemeral(stale) and "This button no longer works" in stale.text(), custom_id
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts WHERE state = 'approved'") == 1


async def test_a_form_nothing_knows_is_answered(session):
    payload = session.emulator.interaction_payload(
        5, guild_id=session.guild_id, channel_id=int(session.emulator.find_channel(session.guild_id, "general")["id"]),
        user_id=PERSONAS["member"], data={"custom_id": "something:old", "components": []})
    record = await session.emulator.send_interaction(payload)
    await session.settle()
    assert record.response_type == 4
    assert "This form has expired" in json.dumps(record.original_message)


# -- restarts -----------------------------------------------------------------------------------

async def test_queue_buttons_still_work_after_the_bot_restarts(session):
    await ready_server(session)
    await share(session, "Heat helps my back; cold makes everything worse.")
    await share(session, "My daughter helps me with the laundry now, and I let her.")
    await session.restart_bot()
    approved = await step(session, "@moderator click Approve")  # the newest queue message: Post #2
    assert approved.requests[0].body["type"] == 7
    await wait_for(lambda: published(session))
    assert "laundry" in published(session)[0]["embeds"][0]["description"]
    await session.restart_bot()
    await step(session, "@moderator click Reject")
    rejected = await step(session, "@moderator modal reason=Thank you; please tell us more about how it felt.")
    assert "Rejected" in rejected.text()
    states = await session.bot.db.fetchall("SELECT number, state FROM posts ORDER BY number")
    assert [(r["number"], r["state"]) for r in states] == [(1, "rejected"), (2, "approved")]


async def test_a_reject_form_submitted_after_a_restart_still_rejects(session):
    await ready_server(session)
    await share(session, "On bad days I cancel everything and feel guilty.")
    await step(session, "@moderator click Reject")
    await session.restart_bot()
    result = await step(session, "@moderator modal reason=Could you say more about what helps with the guilt?")
    assert "Rejected" in result.text()
    assert (await newest_post(session)).reason == "Could you say more about what helps with the guilt?"


async def test_a_decision_made_just_before_a_restart_is_published_and_told_after_it(session):
    await ready_server(session)
    await share(session, "Meditation apps help me fall asleep on flare nights.")
    post = await newest_post(session)
    # Decided through the core while the bot is away: nothing in Discord knows yet.
    await session.stop_bot()
    from bot.storage import Database
    db = Database(session.db_path)
    await db.open()
    await posts.decide(db, post_id=post.id, guild_id=session.guild_id, moderator_id=PERSONAS["moderator"], approve=True)
    await db.close()
    await session.start_bot()
    await wait_for(lambda: published(session))
    dm = session.emulator.dm_channels.get(PERSONAS["member"])
    await wait_for(lambda: dm is not None or session.emulator.dm_channels.get(PERSONAS["member"]))
    post = await newest_post(session)
    assert post.publish_state == "published"
    await wait_for(lambda: channel_messages(session, session.emulator.dm_channels[PERSONAS["member"]]))
    assert "approved" in channel_messages(session, session.emulator.dm_channels[PERSONAS["member"]])[0]["content"]


# -- posts that did not reach the queue channel at once ------------------------------------------

def queue_embeds_of(session: BotSession, post: posts.Post) -> list[dict]:
    """The queue channel's messages showing this post: "Post #2", or "Post #2 · 🚨 urgent"."""
    found = []
    for message in channel_messages(session, channel_id(session, "mod-queue")):
        title = (message.get("embeds") or [{}])[0].get("title", "")
        if title == post.label or title.startswith(f"{post.label} "):
            found.append(message)
    return found


@pytest.mark.parametrize("status, failures", [
    (503, 2),   # discord.py gives up at once: the share's own try fails, then the worker's first retry
    (500, 0),   # discord.py retries a 500 by itself (after 1 s, then 3 s): the share's own try gets there
])
async def test_a_queue_channel_that_fails_during_a_share_gets_the_post_later_exactly_once(session, status, failures):
    await ready_server(session)
    queue_id = channel_id(session, "mod-queue")
    session.emulator.faults.append(Fault(method="POST", path_prefix=f"/channels/{queue_id}/messages",
                                         status=status, times=2))
    shared = await share(session, "Cold showers wake me up but my shoulders pay for it all day.")
    assert "Thank you for sharing" in shared.text(), "the member is thanked whatever the queue channel does"
    post = await newest_post(session)
    assert post.state == "pending"
    await wait_for(lambda: queue_embeds_of(session, post), timeout=20)
    await wait_for(lambda: all(fault.times == 0 for fault in session.emulator.faults))
    await asyncio.sleep(1.5)  # time for a second copy, had the worker and the share both posted it
    await session.settle()
    [message] = queue_embeds_of(session, post)
    stored = await newest_post(session)
    assert stored.queue_message_id == int(message["id"]) and stored.queue_channel_id == queue_id
    assert stored.queue_error is None and stored.queue_next_at is None
    history = [e for e in await posts.post_history(session.bot.db, post.id) if e.event == "queue_failed"]
    assert len(history) == failures == stored.queue_attempts
    if failures:
        assert f"server error ({status})" in history[0].detail["error"]
        shown = await step(session, "@moderator /mod post id:1")
        assert f"not posted to the queue channel yet: Discord had a server error ({status})" in shown.text()
    assert await posts.messages_to_remove(session.bot.db) == []
    # Its buttons work like any other queue message's.
    decided = await step(session, "@moderator click Approve")
    assert decided.requests[0].body["type"] == 7 and "Approved" in decided.text()
    assert (await newest_post(session)).state == "approved"


async def test_an_urgent_post_that_cannot_reach_the_queue_channel_alerts_the_log_channel_once(session):
    await ready_server(session)
    queue_id = channel_id(session, "mod-queue")
    session.emulator.faults.append(Fault(method="POST", path_prefix=f"/channels/{queue_id}/messages",
                                         status=503, times=3))
    crisis = await share(session, "I keep thinking about ending my life, the pain is every single day now.")
    assert "988" in crisis.text() or "crisis" in crisis.text().lower()
    post = await newest_post(session)
    await wait_for(lambda: queue_embeds_of(session, post), timeout=20)
    await session.settle()
    [message] = queue_embeds_of(session, post)
    assert "Urgent" in message["content"]
    log_id = channel_id(session, "mod-log")
    alerts = [m for m in channel_messages(session, log_id) if "Urgent" in m["content"]]
    assert len(alerts) == 1, "one alert, not one per retry"
    assert (await newest_post(session)).queue_attempts == 3


async def test_a_post_saved_just_before_a_restart_reaches_the_queue_channel_after_it(session, monkeypatch):
    await ready_server(session)
    monkeypatch.setattr(posts.sharing, "QUEUE_LEASE_SECONDS", 1)  # the share's own try, cut short for the test
    # Saved through the core while the bot is away, as if it stopped between the commit and the message.
    await session.stop_bot()
    from bot.guild_settings import GuildSettings
    from bot.storage import Database
    db = Database(session.db_path)
    await db.open()
    result = await posts.submit(db, await GuildSettings(db).get(session.guild_id), guild_id=session.guild_id, author_id=PERSONAS["member"],
                                author_name="Member", anonymous=True, interaction_id=None,
                                text="Saved, and then the bot stopped before the moderators heard of it.")
    await db.close()
    assert result.created and result.post.queue_message_id is None
    await session.start_bot()
    await wait_for(lambda: queue_embeds_of(session, result.post))
    await asyncio.sleep(1.5)
    await session.settle()
    [message] = queue_embeds_of(session, result.post)
    assert "Saved, and then the bot stopped" in message["embeds"][0]["description"]
    assert (await newest_post(session)).queue_message_id == int(message["id"])
    # Another restart posts nothing more.
    await session.restart_bot()
    await asyncio.sleep(1.5)
    await session.settle()
    assert len(queue_embeds_of(session, result.post)) == 1
    decided = await step(session, "@moderator click Approve")
    assert "Approved" in decided.text()


async def test_posts_made_before_a_queue_channel_was_chosen_are_put_there_once_it_is(session, monkeypatch):
    monkeypatch.setattr(posts.sharing, "QUEUE_LEASE_SECONDS", 1)
    await step(session, "@admin /config moderator-role role:Moderators")
    await step(session, "@admin /config posting cooldown_seconds:0")
    await share(session, "Before the queue channel: my hands ache in the mornings.")
    await share(session, "Before the queue channel too: naps help on bad days.")
    assert "Pending post 1 of 2" in (await step(session, "@moderator /mod queue")).text()
    await step(session, "@moderator click Approve")  # decided from /mod queue: never goes to the queue channel
    await asyncio.sleep(1.2)
    assert channel_messages(session, channel_id(session, "mod-queue")) == []
    await step(session, "@admin /config channel kind:queue channel:mod-queue")
    second = await newest_post(session)
    await wait_for(lambda: queue_embeds_of(session, second))
    await asyncio.sleep(1.5)
    await session.settle()
    assert [m["embeds"][0]["title"] for m in channel_messages(session, channel_id(session, "mod-queue"))] == ["Post #2"]


# -- publishing when Discord misbehaves ---------------------------------------------------------

async def approve_with_faults(session: BotSession, *faults: Fault) -> None:
    await ready_server(session)
    await share(session, "Physio twice a week is slowly giving me my stairs back.")
    prefix = f"/channels/{channel_id(session, 'community-posts')}/messages"
    for fault in faults:
        fault.path_prefix = prefix
        session.emulator.faults.append(fault)
    await step(session, "@moderator click Approve")


async def test_publishing_through_429s_publishes_exactly_once(session):
    # discord.py retries a 429 itself, five tries at most; eight in a row outlast it once.
    await approve_with_faults(session, Fault(method="POST", path_prefix="", status=429, times=8, retry_after=0.01))
    await wait_for(lambda: published(session))
    post = await newest_post(session)
    assert post.state == "approved" and post.publish_state == "published"
    history = [e for e in await posts.post_history(session.bot.db, post.id)]
    failures = [e for e in history if e.event == "publish_failed"]
    assert len(failures) == 1 and "slow down (429)" in failures[0].detail["error"]
    assert [e.event for e in history].count("published") == 1
    await session.settle()
    assert len(published(session)) == 1


async def test_publishing_through_server_errors_and_slow_answers_publishes_exactly_once(session):
    await approve_with_faults(session, Fault(method="POST", path_prefix="", status=503, times=2),
                              Fault(method="POST", path_prefix="", status=200, times=1, delay=0.4))
    await wait_for(lambda: published(session))
    await session.settle()
    assert len(published(session)) == 1
    post = await newest_post(session)
    history = [e for e in await posts.post_history(session.bot.db, post.id)]
    failures = [e for e in history if e.event == "publish_failed"]
    assert len(failures) == 2 and "server error (503)" in failures[0].detail["error"]
    assert "published in" in queue_message(session)["content"]
    # The moderator who approved was told why it was not published at first.
    told = [r for r in session.emulator.requests if r.path.startswith("/webhooks") and r.method == "POST"
            and "not published yet" in json.dumps(r.body)]
    assert len(told) == 1 and "server error (503)" in json.dumps(told[0].body)


async def test_a_500_is_retried_by_discord_py_and_publishes_once(session):
    await approve_with_faults(session, Fault(method="POST", path_prefix="", status=500, times=1))
    await wait_for(lambda: published(session))
    await session.settle()
    assert len(published(session)) == 1


async def test_a_deleted_posts_channel_leaves_the_post_approved_and_a_new_one_gets_it(session):
    await ready_server(session)
    await share(session, "Journaling my symptoms helped my doctor finally listen.")
    await session.emulator.remove_channel_event(channel_id(session, "community-posts"))
    await session.settle()
    await step(session, "@moderator click Approve")

    async def failed() -> bool:
        return (await newest_post(session)).publish_state == "failed"
    await wait_for(failed)
    post = await newest_post(session)
    assert post.state == "approved" and "No posts channel is set" in post.publish_error
    await wait_for(lambda: "not published yet" in queue_message(session)["content"])
    assert "No posts channel is set" in queue_message(session)["content"]
    await step(session, "@admin /config channel kind:posts channel:general")
    general = channel_id(session, "general")
    await wait_for(lambda: any(m.get("embeds") and "Journaling" in json.dumps(m)
                               for m in channel_messages(session, general)))
    assert (await newest_post(session)).publish_state == "published"


async def test_missing_permissions_in_the_posts_channel_are_reported_and_retried(session):
    await ready_server(session)
    await share(session, "I found a support group near me and it helps.")
    posts_channel = session.emulator.channels[channel_id(session, "community-posts")]
    # Taken away in Discord without the bot hearing of it: the send itself is refused.
    deny = {"id": str(session.emulator.application_id), "type": 1, "allow": "0", "deny": str(PERM["send_messages"])}
    posts_channel["permission_overwrites"].append(deny)
    await step(session, "@moderator click Approve")

    async def failed() -> bool:
        return (await newest_post(session)).publish_attempts >= 1
    await wait_for(failed)
    assert "missing a permission" in (await newest_post(session)).publish_error
    assert published(session) == []
    posts_channel["permission_overwrites"].remove(deny)
    await wait_for(lambda: published(session))
    await session.settle()
    assert len(published(session)) == 1


# -- /mod ----------------------------------------------------------------------------------------

async def test_mod_queue_pages_urgent_first_and_decides_from_the_page(session):
    await ready_server(session)
    await share(session, "Walking the dog is my daily win, however short.")
    await share(session, "I keep thinking about ending my life, I'm so tired of the pain.")
    await share(session, "Swapping coffee for tea helped my sleep a bit.")
    page = await step(session, "@moderator /mod queue")
    assert is_ephemeral(page)
    assert "Pending post 1 of 3" in page.text() and "Post #2 · 🚨 urgent" in page.text()
    assert {"Approve", "Reject", "Block author", "◀ Previous", "Next ▶", "Refresh"} <= set(page.buttons())
    second = await step(session, "@moderator click Next ▶")
    assert "Pending post 2 of 3" in second.text() and "Post #1" in second.text()
    third = await step(session, "@moderator click Next ▶")
    assert "Pending post 3 of 3" in third.text() and "Post #3" in third.text()
    decided = await step(session, "@moderator click Approve")
    assert decided.requests[0].body["type"] == 7 and "Approved" in decided.text()
    # The queue channel's message for Post #3 shows the decision and has no buttons left.
    queue = channel_id(session, "mod-queue")
    edited = [b for b in sent_in(decided, queue, method="PATCH")]
    assert edited and "Approved" in edited[0]["content"] and edited[0]["components"] == []
    after = await step(session, "@moderator click Next pending post")
    assert "Pending post 1 of 2" in after.text()


async def test_an_empty_queue_says_so(session):
    await ready_server(session)
    result = await step(session, "@moderator /mod queue")
    assert "No posts are waiting" in result.text()


async def test_mod_post_shows_one_post_with_its_history(session):
    await ready_server(session)
    await share(session, "Acupuncture did nothing for me, but the rest did.")
    await step(session, "@moderator click Approve")
    await wait_for(lambda: published(session))
    await wait_for(lambda: session.emulator.dm_channels.get(PERSONAS["member"]))

    async def told() -> bool:
        return (await newest_post(session)).author_notified is not None
    await wait_for(told)
    result = await step(session, "@moderator /mod post id:1")
    assert is_ephemeral(result)
    embed = next(b for b in result.bodies() if b.get("embeds"))["embeds"][0]
    history = next(f["value"] for f in embed["fields"] if f["name"] == "History")
    for event in ("shared", "approved by", "published", "author told by DM"):
        assert event in history, event
    assert "Approve" not in result.buttons(), "a decided post has no decision buttons"
    missing = await step(session, "@moderator /mod post id:42")
    assert "There is no Post #42 in this server" in missing.text()


async def test_block_then_unblock_a_named_member(session):
    await ready_server(session)
    await share(session, "Some days my hands don't work at all.", extra="anonymous=named")
    blocked = await step(session, "@moderator click Block author")
    assert is_ephemeral(blocked) and "can no longer share posts" in blocked.text()
    assert f"<@{PERSONAS['member']}>" in blocked.text()
    assert any("A member was blocked from sharing by" in b["content"] for b in sent_in(blocked, channel_id(session, "mod-log")))
    again = await step(session, "@moderator click Block author")
    assert "already blocked" in again.text()
    assert "paused your posting" in (await step(session, "@member /share")).text()
    unblocked = await step(session, "@moderator /mod unblock member:@member")
    assert "by name is lifted" in unblocked.text()
    assert (await step(session, "@member /share")).requests[0].body["type"] == 9
    not_blocked = await step(session, "@moderator /mod unblock member:@member")
    assert "has no block by name here. Nothing changed." in not_blocked.text()


async def test_blocking_an_anonymous_author_never_reveals_who_they_are(session):
    await ready_server(session)
    await share(session, "Buy my miracle supplement, link in my profile!")
    member = str(PERSONAS["member"])
    blocked = await step(session, "@moderator click Block author")
    assert "The author of Post #1 can no longer share posts" in blocked.text()
    assert member not in json.dumps([r.body for r in blocked.requests])
    assert await posts.is_blocked(session.bot.db, session.guild_id, PERSONAS["member"])
    history = await step(session, "@moderator /mod post id:1")
    assert member not in json.dumps([r.body for r in history.requests])
    neither = await step(session, "@moderator /mod unblock")
    assert "Name either the member or the number of one of their posts" in neither.text()
    unblocked = await step(session, "@moderator /mod unblock post:1")
    assert unblocked.text().startswith("The block made from Post #1 on its author is lifted.\n")
    assert member not in json.dumps([r.body for r in unblocked.requests])
    assert not await posts.is_blocked(session.bot.db, session.guild_id, PERSONAS["member"])


async def test_two_moderators_deciding_at_once_make_one_decision(session):
    import asyncio

    await ready_server(session)
    await share(session, "I started using a shower stool and it's a relief.")
    approve = session.build_payload("click Approve", guild_id=session.guild_id, user_id=PERSONAS["moderator"],
                                    channel="general")
    reject_as_admin = session.build_payload("click Approve", guild_id=session.guild_id, user_id=PERSONAS["admin"],
                                            channel="general")
    first, second = await asyncio.gather(session.emulator.send_interaction(approve),
                                         session.emulator.send_interaction(reject_as_admin))
    await asyncio.wait_for(asyncio.gather(first.done.wait(), second.done.wait()), 5)
    await session.settle()
    assert (await newest_post(session)).state == "approved"
    history = [e.event for e in await posts.post_history(session.bot.db, (await newest_post(session)).id)]
    assert history.count("approved") == 1
    await wait_for(lambda: published(session))
    await session.settle()
    assert len(published(session)) == 1


async def test_without_a_queue_channel_an_urgent_post_is_announced_in_the_log_channel(session):
    await step(session, "@admin /config channel kind:log channel:mod-log")
    await step(session, "@admin /config moderator-role role:Moderators")
    crisis = await share(session, "I've been thinking about suicide every night this week.")
    assert "crisis" in crisis.text().lower() or "988" in crisis.text()
    alerts = [b["content"] for b in sent_in(crisis, channel_id(session, "mod-log"))]
    assert len(alerts) == 1 and "Urgent" in alerts[0] and "/mod queue" in alerts[0]
    assert "suicide" not in alerts[0], "the alert does not repeat what the member wrote"
    page = await step(session, "@moderator /mod queue")
    assert "Post #1 · 🚨 urgent" in page.text()
    decided = await step(session, "@moderator click Approve")
    assert "Approved" in decided.text()
    assert (await newest_post(session)).state == "approved"
