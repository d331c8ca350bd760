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
    await share(session, "My name is on this one: warm baths help my back.", extra="anonymous=no")
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
    log_lines = json.dumps(channel_messages(session, channel_id(session, "mod-log")))
    assert f"post:{anonymous.id}" in log_lines or anonymous.label in log_lines
    for message in channel_messages(session, channel_id(session, "mod-log")):
        if member in json.dumps(message):
            assert f"post:{anonymous.id}" not in json.dumps(message)

    # Lifting the block by the post's number does not lift the block by name, and says only that.
    lifted = await step(session, f"@moderator /mod unblock post:{anonymous.number}")
    assert f"block made from {anonymous.label}" in lifted.text() and member not in lifted.text()
    from bot import posts
    assert await posts.is_blocked(session.bot.db, session.guild_id, PERSONAS["member"])
