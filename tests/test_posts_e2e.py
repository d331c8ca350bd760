"""Member posts through the emulator, as members use them: /share, /myposts, /mydata, /privacy,
and what moderators' decisions mean for the member."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot import privacy, quotes, safety
from emulator.server import PERSONAS
from emulator.session import BotSession
from support import OTHER_GUILD, channel_id, channel_messages, files_holding, is_ephemeral, newest_post, press, ready_server, sent_in, set_up_everything, share, step, wait_for

ZWSP = "\u200b"


pytestmark = pytest.mark.usefixtures("quick_worker")


# -- what the database holds ---------------------------------------------------------------------

async def database_holds(session: BotSession, needle: str) -> list[str]:
    """Every table and column where `needle` appears, read through SQL."""
    db = session.bot.db
    found = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in tables:
        name = table["name"]
        columns = await db.fetchall(f"PRAGMA table_info('{name}')")
        for column in columns:
            hit = await db.fetchval(
                f"SELECT COUNT(*) FROM \"{name}\" WHERE CAST(\"{column['name']}\" AS TEXT) LIKE ?", (f"%{needle}%",))
            if hit:
                found.append(f"{name}.{column['name']}")
    return found


# -- sharing ------------------------------------------------------------------------------------

async def test_the_share_form_says_what_happens_and_fits_discords_limits(session):
    await ready_server(session)
    opened = await step(session, "@member /share")
    form = opened.requests[0].body["data"]
    assert len(form["title"]) <= 45
    text = opened.text()
    assert "moderator reviews your post" in text and "agree that Fibro Circle stores it" in text and "/privacy" in text
    inputs = {c["component"]["custom_id"]: c["component"] for c in form["components"] if c.get("type") == 18}
    assert inputs["experience"]["min_length"] == 10 and inputs["experience"]["max_length"] == 4000
    assert inputs["topic"]["required"] is False
    assert inputs["anonymous"]["type"] == 21 and inputs["anonymous"]["required"] is True
    assert "Post anonymously?" in text and "Yes, without my name" in text and "No, with my server name" in text


async def test_a_member_shares_a_moderator_approves_and_it_is_quotable_here_only(two_guilds):
    session = two_guilds
    await ready_server(session)
    await ready_server(session, OTHER_GUILD)
    shared = await share(session, "Since the flare I sleep badly and feel exhausted every morning.",
                         extra="topic=sleep")
    assert is_ephemeral(shared)
    assert "Thank you for sharing" in shared.text() and "Post #1" in shared.text()
    post = await newest_post(session)
    assert post.state == "pending" and post.anonymous and post.author_name is None
    queue = channel_id(session, "mod-queue")
    assert len(sent_in(shared, queue)) == 1, "the post appears in the queue channel"
    embed = sent_in(shared, queue)[0]["embeds"][0]
    assert "Since the flare I sleep badly" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Topic hint"] == "sleep" and "sleep" in fields["Detected topics"]
    # Anonymous to moderators too: no mention, no id, and only a coarse time in the server.
    assert fields["Author"] == "anonymous: nobody sees who · in this server for over a year"
    assert str(PERSONAS["member"]) not in json.dumps(sent_in(shared, queue))

    approved = await step(session, "@moderator click Approve")
    assert approved.requests[0].body["type"] == 7, "the queue message itself shows the decision"
    assert "Approved" in approved.text()
    published_channel = channel_id(session, "community-posts")
    await wait_for(lambda: channel_messages(session, published_channel))
    published = channel_messages(session, published_channel)
    assert len(published) == 1
    assert "Since the flare I sleep badly" in published[0]["embeds"][0]["description"]
    assert published[0]["embeds"][0]["author"]["name"] == "Shared by Anonymous member"
    assert "Robin" not in json.dumps(published[0]), "an anonymous post carries no name"
    post = await newest_post(session)
    assert post.state == "approved" and post.publish_state == "published"

    here = await quotes.find_quotes(session.bot.db, guild_id=session.guild_id, query="sleep",
                                    user_id=PERSONAS["member"], channel_id=None, count=5)
    assert any(q.source == "post" and "sleep badly" in q.full_text for q in here.quotes)
    there = await quotes.find_quotes(session.bot.db, guild_id=OTHER_GUILD, query="sleep",
                                     user_id=PERSONAS["member"], channel_id=None, count=5)
    assert not any("sleep badly" in q.full_text for q in there.quotes)

    quote = session.bot.tree.get_command("quote")
    if quote is not None:  # the /quote command, when it is part of the bot
        option = next(p.name for p in quote.parameters if p.type.name == "string")
        found_here = await step(session, f"@admin /quote {option}:sleep badly")
        assert "Since the flare I sleep badly" in found_here.text()
        found_there = await step(session, f"@admin /quote {option}:sleep badly", guild_id=OTHER_GUILD)
        assert "Since the flare I sleep badly" not in found_there.text()


async def test_a_post_under_the_members_name_shows_the_name_once_published(session):
    await ready_server(session)
    shared = await share(session, "Gentle yoga on good days helps my stiffness a lot.", extra="anonymous=named")
    assert "Thank you" in shared.text()
    post = await newest_post(session)
    assert not post.anonymous and post.author_name == "Robin (member)"
    author = next(f["value"] for f in sent_in(shared, channel_id(session, "mod-queue"))[0]["embeds"][0]["fields"]
                  if f["name"] == "Author")
    assert author.startswith(f"<@{PERSONAS['member']}>, under their name · joined this server <t:")
    await step(session, "@moderator click Approve")
    posts_channel = channel_id(session, "community-posts")
    await wait_for(lambda: channel_messages(session, posts_channel))
    assert channel_messages(session, posts_channel)[0]["embeds"][0]["author"]["name"] == "Shared by Robin (member)"


async def test_the_form_makes_the_member_choose_whether_to_post_anonymously(session):
    await ready_server(session)
    opened = await step(session, "@member /share")
    labels = {c["component"]["custom_id"]: c for c in opened.requests[0].body["data"]["components"] if c["type"] == 18}
    choice = labels["anonymous"]["component"]
    assert labels["anonymous"]["label"] == "Post anonymously?"
    assert choice["type"] == 21 and choice.get("required", True)
    assert [o["value"] for o in choice["options"]] == ["anonymous", "named"]
    assert not any(o.get("default") for o in choice["options"]), "nothing is chosen for the member"
    left_out = await session.run("@member modal experience=Warm baths before bed are my little ritual.")
    assert left_out.refused and "must be picked" in left_out.problem
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 0
    await step(session, "@member /share")
    chosen = await step(session, "@member modal experience=Warm baths before bed are my little ritual. anonymous=Yes")
    assert "shared without your name" in chosen.text()
    post = await newest_post(session)
    assert post.anonymous


async def test_a_raw_form_without_a_choice_it_offered_is_refused_and_the_text_comes_back(session):
    await ready_server(session)
    for answer in ("anonymous=perhaps", ""):
        await step(session, "@member /share")
        refused = await step(session, f"@member modal experience=Warm baths before bed are my little ritual. {answer}",
                             raw=True)
        assert is_ephemeral(refused)
        assert "not saved" in refused.text() and "pick one" in refused.text()
        assert "Warm baths before bed are my little ritual." in refused.text(), "the text comes back to copy"
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 0


async def test_without_anonymous_posting_the_form_has_no_choice_and_the_name_is_used(session):
    await ready_server(session)
    await step(session, "@admin /config posting anonymous_allowed:false")
    opened = await step(session, "@member /share")
    assert '"custom_id": "anonymous"' not in json.dumps(opened.requests[0].body["data"]["components"])
    assert "your server name is shown with your post" in opened.text(), "the form says whose name goes on it"
    await step(session, "@member modal experience=Pacing my days has changed everything for me.")
    post = await newest_post(session)
    assert not post.anonymous and post.author_name == "Robin (member)"


async def test_a_form_that_asked_for_anonymity_is_never_posted_under_the_name(session):
    await ready_server(session)
    await step(session, "@member /share")  # the form asks, anonymous by default
    await step(session, "@admin /config posting anonymous_allowed:false")
    refused = await step(session, "@member modal experience=I wrote this expecting to stay anonymous. anonymous=Yes")
    assert "does not allow anonymous posts" in refused.text()
    assert "I wrote this expecting to stay anonymous." in refused.text(), "the text comes back to copy"
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 0


async def test_mentions_in_a_post_never_ping_anywhere(session):
    await ready_server(session)
    user_id = PERSONAS["admin"]
    await share(session, f"@everyone and @here please read this, <@{user_id}> too: my pain is worse.")
    await step(session, "@moderator click Approve")
    posts_channel = channel_id(session, "community-posts")
    await wait_for(lambda: channel_messages(session, posts_channel))
    await step(session, "@member /myposts")
    # Every message that repeats the post (queue, published copy, /myposts) forbids pings, and the
    # text itself can no longer ping even if that were changed.
    sent = [r for r in session.emulator.requests if r.method in ("POST", "PATCH") and isinstance(r.body, dict)
            and "please read this" in json.dumps(r.body, ensure_ascii=False)]
    assert len(sent) == 3, [r.path for r in sent]
    for request in sent:
        body = request.body.get("data", request.body) if request.path.endswith("/callback") else request.body
        assert body.get("allowed_mentions") == {"parse": []}, (request.path, body.get("allowed_mentions"))
        text = json.dumps(body, ensure_ascii=False)
        assert f"@{ZWSP}everyone and @{ZWSP}here" in text and "@user too" in text
        for raw in (" @everyone", "\"@everyone", "@here ", f"<@{user_id}>"):
            assert raw not in text, raw
    assert "mentions made harmless" in json.dumps(channel_messages(session, channel_id(session, "mod-queue")))


async def test_text_that_is_too_short_or_invisible_is_refused_stores_nothing_and_comes_back(session):
    await ready_server(session)
    short = await share(session, "ouch", raw=True)  # Discord's client would ask for 10 characters
    assert is_ephemeral(short)
    assert "at least 10 characters" in short.text() and "Nothing was saved" in short.text()
    assert "ouch" in short.text(), "the member gets their text back to copy"
    invisible = await share(session, ZWSP * 20)
    assert "no visible characters" in invisible.text()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 0
    assert channel_messages(session, channel_id(session, "mod-queue")) == []


async def test_a_cooldown_refuses_before_the_form_opens_and_says_the_time_left(session):
    await set_up_everything(session)  # the default cooldown, 5 minutes
    await share(session, "My first post about brain fog at work.")
    again = await step(session, "@member /share")
    assert is_ephemeral(again)
    assert again.requests[0].body["type"] == 4, "no form to type into when the post could not be sent"
    assert "You can share again in 5 minutes" in again.text()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 1


async def test_a_crisis_post_gets_the_resources_at_once_an_urgent_flag_and_a_queue_alert(session):
    await ready_server(session)
    resources = "UK: call Samaritans on 116 123, any time."
    await step(session, f"@admin /config crisis-resources text:{resources}")
    await share(session, "Pacing helps me on most days, and my physio is kind.")
    crisis = await share(session, "I honestly don't want to be here anymore, the pain never stops.")
    reply = crisis.text()
    assert resources in reply and "isn't a crisis service" in reply
    assert "saved as Post #2" in reply
    post = await newest_post(session)
    assert post.urgent and safety.CRISIS_FLAG in post.flags
    queue_message = sent_in(crisis, channel_id(session, "mod-queue"))[0]
    assert "Urgent" in queue_message["content"]
    assert "urgent" in queue_message["embeds"][0]["title"]
    page = await step(session, "@moderator /mod queue")
    assert "Pending post 1 of 2" in page.text() and "Post #2" in page.text(), "urgent posts are listed first"


async def test_figures_of_speech_are_not_a_crisis(session):
    await ready_server(session)
    shared = await share(session, "This flare is killing me and I'm dead tired, but I killed it at physio today.")
    assert "Thank you for sharing" in shared.text() and "crisis" not in shared.text()
    assert not (await newest_post(session)).urgent


async def test_the_same_form_delivered_twice_makes_one_post_and_one_thank_you(session):
    await ready_server(session)
    await step(session, "@member /share")
    modal, guild_id, channel, _opened_from = session.last_modal[PERSONAS["member"]]
    payload = session._modal_payload("experience=Cold weather makes my hands ache badly. anonymous=Yes", PERSONAS["member"])
    record = await session.emulator.send_interaction(payload)
    await session.emulator.dispatch("INTERACTION_CREATE", payload)  # Discord delivers it again
    await asyncio.wait_for(record.done.wait(), 5)
    await session.settle()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 1
    thanks = [r for r in session.emulator.requests if r.path.startswith("/webhooks") and r.method == "POST"
              and "Thank you" in json.dumps(r.body)]
    assert len(thanks) == 1
    assert len(channel_messages(session, channel_id(session, "mod-queue"))) == 1


async def test_a_form_sent_just_before_a_restart_is_still_stored(session):
    await ready_server(session)
    await step(session, "@member /share")
    await session.restart_bot()
    after = await step(session, "@member modal anonymous=anonymous experience=Typed while the bot was restarting, still here.")
    assert "Thank you for sharing" in after.text()
    assert (await newest_post(session)).text == "Typed while the bot was restarting, still here."


async def test_a_blocked_member_is_told_politely_and_nothing_is_stored(session):
    await ready_server(session)
    await share(session, "Some days I cannot lift the kettle.")
    await step(session, "@moderator click Block author")
    refused = await step(session, "@member /share")
    assert is_ephemeral(refused) and "paused your posting here" in refused.text()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 1


# -- decisions reach the member -----------------------------------------------------------------

async def test_a_rejected_posts_author_sees_the_reason_in_myposts_and_by_dm(session):
    await ready_server(session)
    await share(session, "Guaifenesin cured my fibro completely.")
    queue = channel_messages(session, channel_id(session, "mod-queue"))[0]
    assert "unproven cure claim" in json.dumps(queue) and "Bennett" in json.dumps(queue), "the evidence note"
    opened = await step(session, "@moderator click Reject")
    assert opened.requests[0].body["type"] == 9
    reason = "Please share your own experience without telling others what to take."
    rejected = await step(session, f"@moderator modal reason={reason}")
    assert "Rejected" in rejected.text()
    await wait_for(lambda: session.emulator.dm_channels.get(PERSONAS["member"]))
    dm_channel = session.emulator.dm_channels[PERSONAS["member"]]
    await wait_for(lambda: channel_messages(session, dm_channel))
    dm = channel_messages(session, dm_channel)[0]["content"]
    assert reason in dm and "Sam" not in dm and str(PERSONAS["moderator"]) not in dm, \
        "decisions are anonymous by default"
    mine = await step(session, "@member /myposts")
    assert is_ephemeral(mine)
    assert reason in mine.text() and "not approved" in mine.text() and "You were told by DM" in mine.text()
    assert "Withdraw #1" in mine.buttons()


async def test_a_decision_names_the_moderator_when_the_server_says_so(session):
    await ready_server(session)
    await step(session, "@admin /config decisions-anonymous value:false")
    await share(session, "Heat pads are my best friend this winter.")
    await step(session, "@moderator click Approve")
    await wait_for(lambda: session.emulator.dm_channels.get(PERSONAS["member"]))
    dm_channel = session.emulator.dm_channels[PERSONAS["member"]]
    await wait_for(lambda: channel_messages(session, dm_channel))
    assert f"<@{PERSONAS['moderator']}>" in channel_messages(session, dm_channel)[0]["content"]


async def test_with_dms_closed_the_decision_is_recorded_and_shown_in_myposts(session):
    await ready_server(session)
    session.emulator.closed_dms.add(PERSONAS["member"])
    await share(session, "I have started swimming twice a week, slowly.")
    await step(session, "@moderator click Reject")
    await step(session, "@moderator modal reason=Please add a little more about how it went for you.")

    async def told() -> bool:
        return (await newest_post(session)).author_notified == "dm_failed"
    await wait_for(told)
    post = await newest_post(session)
    assert post.state == "rejected" and post.reason.startswith("Please add a little more")
    mine = await step(session, "@member /myposts")
    assert "Please add a little more" in mine.text() and "DMs were closed" in mine.text()


# -- withdrawing, /mydata, /privacy -------------------------------------------------------------

async def test_withdrawing_a_published_post_deletes_its_text_and_its_messages(session):
    await ready_server(session)
    await share(session, "Writing here helps me feel less alone with the pain.")
    await step(session, "@moderator click Approve")
    posts_channel, queue = channel_id(session, "community-posts"), channel_id(session, "mod-queue")
    await wait_for(lambda: channel_messages(session, posts_channel))
    await step(session, "@member /myposts")
    ask = await step(session, "@member click Withdraw #1")
    assert "can't be undone" in ask.text() and "Yes, withdraw #1" in ask.buttons()
    done = await step(session, "@member click Yes, withdraw #1")
    assert "withdrawn" in done.text()
    await wait_for(lambda: not channel_messages(session, posts_channel) and not channel_messages(session, queue))
    assert await database_holds(session, "less alone with the pain") == []
    assert (await newest_post(session)).state == "withdrawn"


async def test_another_members_withdraw_button_withdraws_nothing(session):
    await ready_server(session)
    await share(session, "Mornings are the hardest part of my day.")
    post = await newest_post(session)
    # The admin presses a copy of the member's confirmation button: the core checks whose post it is.
    pressed = await press(session, f"fibrocircle:myposts:withdraw-yes:{post.id}:1", who="admin")
    assert is_ephemeral(pressed) and "You have no such post here" in pressed.text()
    assert (await newest_post(session)).state == "pending"


async def test_mydata_sends_a_copy_and_forget_me_leaves_no_text_in_the_database(session):
    await ready_server(session)
    phrase = "My knees lock up on cold mornings"
    await share(session, f"{phrase} and my partner carries the shopping.", extra="topic=cold weather")
    await step(session, "@moderator click Approve")
    await share(session, f"{phrase}, second time this week, and fatigue on top.")
    await wait_for(lambda: channel_messages(session, channel_id(session, "community-posts")))

    data = await step(session, "@member /mydata")
    assert is_ephemeral(data)
    files = [f for r in data.requests for f in r.files]
    assert len(files) == 1 and files[0]["filename"] == "fibro-circle-my-data.json"
    exported = json.loads(files[0]["content"])
    assert len(exported["posts"]) == 2 and phrase in exported["posts"][0]["text"]
    assert "2 posts you shared" in data.text()

    confirm = await step(session, "@member click Forget me")
    assert "can't be undone" in confirm.text()
    done = await step(session, "@member click Yes, delete everything")
    assert "2 posts" in done.text()
    await wait_for(lambda: not channel_messages(session, channel_id(session, "community-posts")))
    await wait_for(lambda: not channel_messages(session, channel_id(session, "mod-queue")))
    assert await database_holds(session, phrase) == []
    assert await database_holds(session, "cold weather") == []
    assert await database_holds(session, str(PERSONAS["member"])) == [], "the member's id is nowhere"
    again = await step(session, "@member /mydata")
    assert "0 posts you shared" in again.text()


async def test_forget_me_leaves_no_copy_of_the_text_in_the_database_files(session):
    await ready_server(session)
    marker = "wombat-5521: my ankles swell after long drives"
    await share(session, f"{marker}, and resting with my feet up helps.", extra="topic=wombat-hint-5522")
    await step(session, "@moderator click Approve")
    await wait_for(lambda: channel_messages(session, channel_id(session, "community-posts")))
    await share(session, f"{marker}, again today.")
    db = session.bot.db
    assert files_holding(db, marker) and files_holding(db, "wombat-hint-5522"), "on disk before"

    await step(session, "@member /mydata")
    await step(session, "@member click Forget me")
    done = await step(session, "@member click Yes, delete everything")
    assert "2 posts" in done.text()
    assert files_holding(db, marker) == [] and files_holding(db, "wombat-hint-5522") == []
    assert await database_holds(session, marker) == []
    # Nor after the bot has deleted the messages that showed the posts, and stopped.
    await wait_for(lambda: not channel_messages(session, channel_id(session, "community-posts")))
    await session.stop_bot()
    assert files_holding(db, marker) == []
    await session.start_bot()


async def test_keeping_my_data_deletes_nothing(session):
    await ready_server(session)
    await share(session, "Swimming is the one exercise that doesn't hurt.")
    await step(session, "@member /mydata")
    await step(session, "@member click Forget me")
    kept = await step(session, "@member click Keep my data")
    assert "Nothing was deleted" in kept.text()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 1


async def test_privacy_says_what_why_how_long_who_and_how_to_delete(session):
    result = await step(session, "@member /privacy")
    assert is_ephemeral(result)
    fields = result.bodies()[0]["embeds"][0]["fields"]
    names = [f["name"] for f in fields]
    assert names == ["What is stored", "Why", "For how long", "Who sees it", "Safety checks", "How to delete it",
                     "What deleting means"]
    assert "/mydata" in result.text() and "/myposts" in result.text()
    # What deleting means on the database this bot runs on (SQLite here).
    assert fields[-1]["value"] == privacy.DELETED_TEXT["sqlite"]
