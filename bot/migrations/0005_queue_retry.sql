-- Pending posts whose embed never reached the queue channel: posting there failed, the bot stopped
-- between saving the post and posting the embed, or the queue channel was chosen after the post was
-- made. The background worker posts them, retrying with growing pauses as it does for publishing.

ALTER TABLE posts ADD COLUMN queue_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN queue_error TEXT;       -- the last failure, from Discord; never post text
-- Not tried before this time. A new post is set aside for a minute for the member's own /share,
-- which posts the embed at once; NULL (a post stored some other way) means due now.
ALTER TABLE posts ADD COLUMN queue_next_at TEXT;

-- No index of its own: the worker finds these posts through posts_guild_state (server, state),
-- starting from the servers that have a queue channel; about 1 ms with 2,000 such posts waiting.
