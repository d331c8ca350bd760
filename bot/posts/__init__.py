"""Member posts: sharing, the moderation queue, publishing, and members' own data.

A post moves through explicit states: pending -> approved or rejected, and any of those ->
withdrawn by its author. Every change is committed (with its history event and audit row)
before the function returns, so the bot never tells anyone about something that could still
be lost. Nothing here talks to Discord: the functions return plain data, and the records of
what still has to happen in Discord (publishing, telling the author, deleting messages that
show withdrawn text) live in the database, so a restart or an outage only delays them.

Privacy: the author's id is kept even for anonymous posts (to tell them of the decision and to
let them withdraw it); their name is stored only when they chose to post under it. The history
of a post and the audit log never hold what the member wrote.

The package: `model` (the post, its states and records, and shared helpers), `sharing` (submitting),
`review` (the queue, decisions, blocking), `jobs` (what is still to happen in Discord, under leases),
`members` (a member's own posts, withdrawing, and the posts' part of the member's data, which
bot/privacy.py combines with the other modules' parts).
"""

from __future__ import annotations

from bot.posts.model import (  # noqa: F401
    MIN_POST_LENGTH, MAX_POST_LENGTH, MAX_TOPIC_HINT_LENGTH, MAX_REASON_LENGTH, DAILY_WINDOW,
    FIRST_RETRY_SECONDS, LONGEST_RETRY_SECONDS, PUBLISH_LEASE_SECONDS, QUEUE_LEASE_SECONDS, MAX_ERROR_LENGTH,
    ANONYMOUS_NAME, QUEUE_CHANNEL_SETTING, PostError, Post, SubmitResult, PostEvent, StaleMessage,
    BlockedMember, ForgetReport, format_wait,
)
from bot.posts.sharing import (  # noqa: F401
    check_may_post, submit,
)
from bot.posts.review import (  # noqa: F401
    get_post, get_post_by_number, pending, pending_count, post_history, decide, record_refusal, block,
    block_author, unblock, is_blocked, blocked_members,
)
from bot.posts.jobs import (  # noqa: F401
    set_queue_message, posts_to_queue, mark_queue_failed, posts_to_publish, mark_published,
    mark_publish_failed, decisions_to_notify, mark_author_notified, messages_to_remove, mark_message_removed,
    mark_message_removal_failed,
)
from bot.posts.members import (  # noqa: F401
    my_posts, withdraw, export_member_posts, forget_member_posts,
)
