"""A member who withdraws a post or uses Forget me is told truthfully, afterwards, what became of the
messages in Discord that showed their text: all removed, still being tried, or given up on and where
(/myposts, /mydata). The emulator refuses the deletions; the worker's clock is moved, nothing waits."""

from datetime import timedelta

from bot import posts
from emulator.server import Fault
from support import channel_id, ready_server, share, step, wait_for

TEXT = "Cold mornings are the worst for my legs and my sleep."


async def published(session) -> None:
    await ready_server(session)
    await share(session, TEXT)
    await step(session, "@moderator click Approve")

    async def out() -> bool:
        row = await session.bot.db.fetchone("SELECT publish_state FROM posts ORDER BY id DESC LIMIT 1")
        return row["publish_state"] == "published"
    await wait_for(out)


def refuse_deletes(session, times: int = 10_000) -> Fault:
    fault = Fault(method="DELETE", path_prefix="/channels/", status=403, times=times)
    session.emulator.faults.append(fault)
    return fault


async def delete_while_refused(session, *steps: str):
    """A published post, Discord refusing every deletion, then the member's steps; the last answer
    and the fault (set its `times` to 0 to let Discord accept again)."""
    await published(session)
    fault = refuse_deletes(session)
    for text in steps[:-1]:
        await step(session, text)
    return await step(session, steps[-1]), fault


async def tried(session, at_least: int = 1) -> None:
    async def attempts() -> bool:
        rows = await session.bot.db.fetchall("SELECT attempts FROM stale_messages")
        return bool(rows) and all(r["attempts"] >= at_least for r in rows)
    await wait_for(attempts)


async def test_a_withdrawal_whose_copies_discord_refuses_to_delete_is_reported_until_it_ends(session, quick_worker):
    done, fault = await delete_while_refused(session, "@member /myposts", "@member click Withdraw #1",
                                             "@member click Yes, withdraw #1")
    assert "/myposts shows when they are all gone" in done.text()
    await tried(session)

    # While Discord refuses: the member is told that the removal is still going on, not that it is done.
    mine = (await step(session, "@member /myposts")).text()
    assert "Removed so far: 0 of the 2 messages in Discord that showed it." in mine
    assert "still trying" in mine and "Removed: all" not in mine

    # Discord accepts again: the next tries remove both, and /myposts says so.
    fault.times = 0
    await wait_for(lambda: _none_left(session))
    mine = (await step(session, "@member /myposts")).text()
    assert "Removed: all of the 2 messages in Discord that showed it." in mine
    assert TEXT not in " ".join(m.get("content") or "" for m in session.emulator.messages.values())


async def _none_left(session) -> bool:
    return await session.bot.db.fetchval("SELECT COUNT(*) FROM stale_messages") == 0


async def test_copies_refused_for_a_week_are_given_up_and_the_member_told_where_they_are(session, quick_worker):
    await delete_while_refused(session, "@member /myposts", "@member click Withdraw #1", "@member click Yes, withdraw #1")
    await tried(session)

    worker = session.bot.get_cog("Moderation").worker
    start = worker.clock()
    worker.clock = lambda: start + posts.REMOVAL_GIVE_UP - timedelta(hours=1)
    await worker.run_once()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM stale_messages") == 2  # still trying
    worker.clock = lambda: start + posts.REMOVAL_GIVE_UP + timedelta(minutes=1)
    await worker.run_once()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM stale_messages") == 0

    mine = (await step(session, "@member /myposts")).text()
    queue, public = channel_id(session, "mod-queue"), channel_id(session, "community-posts")
    assert "Removed: 0 of the 2 messages in Discord that showed it. 2 could not be removed" in mine
    assert f"<#{queue}>" in mine and f"<#{public}>" in mine and "ask that server's moderators" in mine
    data = (await step(session, "@member /mydata")).text()
    assert "Post #1: Removed: 0 of the 2 messages" in data


async def test_forget_me_tells_in_mydata_what_became_of_the_messages(session, quick_worker):
    done, fault = await delete_while_refused(session, "@member /mydata", "@member click Forget me",
                                             "@member click Yes, delete everything")
    assert "2 messages showing your posts are being removed" in done.text() and "/mydata shows" in done.text()
    await tried(session)
    data = (await step(session, "@member /mydata")).text()
    assert "Forget me: Removed so far: 0 of the 2 messages in Discord that showed your posts." in data
    # The notice holds no id of the member: only the keyed hash.
    rows = await session.bot.db.fetchall("SELECT * FROM removal_notices")
    assert rows and all(len(r["member_key"]) == 64 for r in rows)
    assert "user_id" not in rows[0].keys()

    fault.times = 0
    await wait_for(lambda: _none_left(session))
    data = (await step(session, "@member /mydata")).text()
    assert "Forget me: Removed: all of the 2 messages in Discord that showed your posts." in data


async def test_privacy_and_the_readme_state_the_same_removal_periods_as_the_code(session):
    from pathlib import Path
    shown = (await step(session, "@member /privacy")).text()
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    assert f"keeps trying for {posts.REMOVAL_GIVE_UP.days} days" in shown
    assert f"{posts.REMOVAL_NOTICE_KEPT.days} days after the last one was dealt with" in shown
    assert f"retries for up to {posts.REMOVAL_GIVE_UP.days} days, then gives up" in readme
    assert f"goes {posts.REMOVAL_NOTICE_KEPT.days} days after the last message was dealt with" in readme
