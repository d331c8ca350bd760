"""The moderators' side of member posts: the queue, decisions, and the work that follows them.

- Each new post appears in the server's queue channel as an embed with Approve, Reject and Block
  author buttons. The buttons carry the post id in their custom_id (DynamicItem), so they work after
  a restart; the core refuses a post of another server or one already decided.
- Only moderators decide: the server's moderator role, or Manage Server (`is_moderator`, the one
  place that says so). Anyone else is refused privately and the attempt is audited.
- `/mod queue` pages through pending posts (urgent first) with the same buttons, for servers
  without a queue channel; `/mod post id:` shows one post and its history; `/mod unblock member:`.
- A decision is committed by the core before anything is said about it. What follows (publishing
  an approved post, telling the author by DM, deleting messages that show withdrawn text) is done by
  one background task, `PostWorker`, from what the database says is still to do: a restart or a
  Discord outage only delays it, and a failure is retried, never dropped.

The queue message keeps its embed (the post) for good; its content line says where the post
stands (urgent, approved by whom, published or why not yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.moderation.cog import Moderation

if TYPE_CHECKING:
    from bot.app import FibroCircle


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(Moderation(bot))
