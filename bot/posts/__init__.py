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

from bot.posts.jobs import (  # noqa: F401
    decisions_to_notify,
    mark_author_notified,
    mark_message_removal_failed,
    mark_message_removed,
    mark_notify_failed,
    mark_publish_failed,
    mark_published,
    mark_queue_failed,
    messages_to_remove,
    posts_to_publish,
    posts_to_queue,
    prune_removal_notices,
    record_copies,
    removal_notices,
    set_queue_message,
)
from bot.posts.members import export_member_posts, forget_member_posts, my_posts, withdraw  # noqa: F401
from bot.posts.model import (  # noqa: F401
    ANONYMOUS_NAME,
    DAILY_WINDOW,
    FIRST_RETRY_SECONDS,
    LONGEST_RETRY_SECONDS,
    MAX_ERROR_LENGTH,
    MAX_POST_LENGTH,
    MAX_REASON_LENGTH,
    MAX_TOPIC_HINT_LENGTH,
    MIN_POST_LENGTH,
    PUBLISH_LEASE_SECONDS,
    QUEUE_CHANNEL_SETTING,
    QUEUE_LEASE_SECONDS,
    REMOVAL_GIVE_UP,
    REMOVAL_NOTICE_KEPT,
    AuthorNotified,
    BlockedMember,
    Decision,
    ForgetReport,
    Post,
    PostError,
    PostEvent,
    PostEventName,
    PostState,
    PublishState,
    RemovalNotice,
    StaleKind,
    StaleMessage,
    SubmitResult,
    format_wait,
    notify_nonce,
    publish_nonce,
)
from bot.posts.review import (  # noqa: F401
    block,
    block_author,
    blocked_members,
    decide,
    get_post,
    get_post_by_number,
    is_blocked,
    pending,
    pending_count,
    post_history,
    record_refusal,
    unblock,
    unblock_post,
)
from bot.posts.sharing import check_may_post, submit  # noqa: F401
