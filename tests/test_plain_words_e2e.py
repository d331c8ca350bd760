"""Plain words for everyone, through the real bot and the emulator: /about names the moderator role
and the server's crisis resources, Reject leads on to the next pending post, Block author says what
happened to the post, a blocked member is told before the form opens, and the log channel reads in
sentences."""

from __future__ import annotations

from pathlib import Path

from emulator.server import PERSONAS
from support import channel_id, newest_post, press, ready_server, sent_in, share, step

WALKING = Path(__file__).parent / "fixtures" / "articles" / "walking_app.txt"


def labels(result) -> list[str]:
    """Every button label the bot sent in answer to a step."""
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("label"), str):
                found.append(value["label"])
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for request in result.requests:
        walk(request.body)
    return found


async def test_about_names_the_moderator_role_and_the_servers_crisis_resources(session):
    before = (await step(session, "/about")).text()
    assert "has not named a moderator role yet" in before and "988" in before
    await ready_server(session)
    await step(session, "@admin /config crisis-resources text:Call the Fibro Friends helpline on 555 0100.")
    about = (await step(session, "/about")).text()
    assert "**Moderators** role" in about
    assert "Call the Fibro Friends helpline on 555 0100." in about


async def test_about_describes_the_article_this_server_features_from_its_facts(session):
    await ready_server(session)
    seed = (await step(session, "/about")).text()
    assert "“Brain Signals Disrupted in Fibromyalgia Patients”" in seed
    assert "A study of 31 patients with fibromyalgia and 14 healthy participants, published in the journal " \
           "Arthritis & Rheumatism." in seed
    assert "While lying in an MRI" in seed
    assert "anonymously or under your name, as you choose each time" in seed
    await step(session, f"@admin /config article add file:{WALKING}")
    await step(session, "@admin click Add this article")
    await step(session, "@admin /config articles feature:#2")
    await step(session, "@admin /config posting anonymous_allowed:false")
    walking = (await step(session, "/about")).text()
    assert "“Phone App Nudges People With Chronic Pain to Walk More”" in walking
    assert "A study of 120 people with chronic widespread pain, published in the journal Pain and Everyday Life." in walking
    assert "Steps were counted by the phone itself." in walking
    for other in ("31 patients", "MRI", "brain-imaging", "Arthritis"):
        assert other not in walking, other
    assert "under your server name (this server does not allow anonymous posts)" in walking


async def test_reject_leads_to_the_next_pending_post_and_block_author_fits_the_post(session):
    await ready_server(session)
    await share(session, "First post about my sleep troubles at night.")
    first = await newest_post(session)
    await share(session, "Second post about the weather and my joints.", who="4243")
    await step(session, "@moderator /mod queue")
    await step(session, "@moderator click Reject")
    rejected = await step(session, "@moderator modal reason=Please say a little more about what helps you.")
    assert "Rejected" in rejected.text() and "Next pending post" in labels(rejected)
    log_lines = [b["content"] for b in sent_in(rejected, channel_id(session, "mod-log"))]
    assert any(line.startswith(f"Post #{first.number} rejected by <@{PERSONAS['moderator']}>") for line in log_lines)
    following = await step(session, "@moderator click Next pending post")
    assert "Second post about the weather" in following.text()
    # Block author on the post already rejected (its button in an older message).
    text = (await press(session, f"fibrocircle:post:block:{first.id}", who="moderator")).text()
    assert "can no longer share" in text
    assert "still waits for your decision" not in text and "was already rejected" in text


async def test_a_blocked_member_is_told_before_the_form_opens(session):
    await ready_server(session)
    await share(session, "A post so that the moderators can block its author.", who="4244")
    await step(session, "@moderator /mod queue")
    await step(session, "@moderator click Block author")
    refused = await step(session, "@4244 /share")
    assert refused.requests[0].body["type"] != 9, "no form opens"
    assert "the form to share a post will not open" in refused.text()
    assert "this post was not saved" not in refused.text()
