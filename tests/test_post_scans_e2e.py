"""A shared post is scanned for crisis language and cure claims once, when it is submitted: its topic
tags, the moderators' queue embed and /quote read the scan stored with it (bot/scans.py). Counted
through the real bot against the emulator, by the detector's scoring of texts that hold the post."""

from __future__ import annotations

import pytest

from bot import posts, quotes, safety, safety_model, scans, topics
from support import channel_id, channel_messages, newest_post, ready_server, share, step, wait_for

pytestmark = pytest.mark.usefixtures("quick_worker")

MARKER = "quiltmakers"    # a word no other text holds: its scans are the post's
SLEEP_POST = f"Since the flare began I sleep badly and wake up exhausted, the {MARKER} group keeps me going."
CURE_POST = (f"Guaifenesin reversed my fibromyalgia completely, the protocol cured my sleep and my pain for good. "
             f"Ask the {MARKER} group how.")


@pytest.fixture
def scans_of_the_post(monkeypatch) -> list[str]:
    """Every text holding MARKER that the detector scores (one scan is one scoring of the text)."""
    seen: list[str] = []
    original = safety_model.Model.score

    def score(self, text):
        if MARKER in text:
            seen.append(text)
        return original(self, text)

    monkeypatch.setattr(safety_model.Model, "score", score)
    return seen


async def share_and_approve(session, text: str, hint: str) -> posts.Post:
    await ready_server(session)
    await share(session, text, extra=f"topic={hint}")
    queue = await step(session, "@moderator /mod queue")          # the queue page draws the embed again
    assert MARKER in queue.text() or MARKER in str([r.body for r in queue.requests])
    await step(session, "@moderator click Approve")
    published = channel_id(session, "community-posts")
    await wait_for(lambda: channel_messages(session, published))
    post = await newest_post(session)
    assert post.state == "approved" and post.scan is not None
    return post


async def test_a_shared_post_is_scanned_once_through_submit_tags_queue_and_quote(session, scans_of_the_post):
    post = await share_and_approve(session, SLEEP_POST, "sleep")
    assert "sleep" in post.topics
    found = await step(session, f"@admin /quote topic:{MARKER}")        # the words of the text itself
    assert "sleep badly" in found.text()
    by_topic = await step(session, "@admin /quote topic:sleep badly count:5")   # its topic tags
    assert "sleep badly" in by_topic.text()
    await step(session, "@admin click Read in full")
    assert len(scans_of_the_post) == 1, scans_of_the_post
    assert scans_of_the_post[0] == scans.post_text(post.text, "sleep"), "the text and its topic hint, together"


async def test_a_cure_claims_evidence_note_comes_from_the_stored_scan(session, scans_of_the_post):
    post = await share_and_approve(session, CURE_POST, "pain")
    assert post.scan.cure_claim and "cure_claim" in post.flags
    quote = (await quotes.find_quotes(session.bot.db, guild_id=session.guild_id, query=MARKER, user_id=1,
                                      channel_id=None)).quotes[0]
    assert quote.item_id == post.id and quote.cure_note == post.scan.evidence_note
    assert (await quotes.get_quote(session.bot.db, "post", post.id, session.guild_id)).cure_note == quote.cure_note
    assert len(scans_of_the_post) == 1, scans_of_the_post


async def test_the_stored_scan_is_the_scan_and_a_withdrawn_post_keeps_none(session):
    await ready_server(session)
    await share(session, "Some nights I think everyone would be better off without me, I want to die.")
    post = await newest_post(session)
    assert post.scan == safety.scan(post.text) and post.scan.crisis and post.urgent
    await step(session, "@member /myposts")
    await step(session, "@member click Withdraw #1")
    await step(session, "@member click Yes, withdraw #1")
    row = await session.bot.db.fetchone(f"SELECT {', '.join(scans.COLUMNS)} FROM posts WHERE id = ?", (post.id,))
    assert all(row[c] is None for c in scans.COLUMNS), dict(row)
    assert (await newest_post(session)).scan is None


async def test_a_post_scanned_before_scans_were_stored_is_scanned_when_read_and_filled_by_retagging(
        session, scans_of_the_post):
    post = await share_and_approve(session, SLEEP_POST, "sleep")
    db = session.bot.db
    async with db.transaction() as tx:      # as a post from before migration 0014 is
        await tx.execute(f"UPDATE posts SET {scans.CLEARED_SQL} WHERE id = ?", (post.id,))
    assert (await newest_post(session)).scan is None
    quotes.texts.clear_caches()
    found = await quotes.find_quotes(db, guild_id=session.guild_id, query=MARKER, user_id=1, channel_id=None)
    assert [q.item_id for q in found.quotes] == [post.id]
    assert len(scans_of_the_post) == 2, "read without a stored scan, the text is scanned as before"

    # Re-tagging (a new taxonomy or detector) stores the scan it makes, and reads a current one.
    await db.set_meta(topics.META_KEY, "another taxonomy")
    assert await topics.retag_all_if_taxonomy_changed(db) is True
    assert len(scans_of_the_post) == 3
    assert (await newest_post(session)).scan == post.scan
    await db.set_meta(topics.META_KEY, "another taxonomy")
    assert await topics.retag_all_if_taxonomy_changed(db) is True
    assert len(scans_of_the_post) == 3, "a stored scan by the detector in use is not made again"
