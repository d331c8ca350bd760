-- Member posts: numbers moderators can talk about, where the queue and published copies live,
-- publishing that survives failures, whether the author was told, and each post's history.

-- "Post #12": numbered per server, never reused (a counter, not MAX(number) + 1, so that a
-- deleted post's number is not given to someone else's post).
CREATE TABLE guild_post_counters (
    guild_id    INTEGER PRIMARY KEY,
    last_number INTEGER NOT NULL
);

ALTER TABLE posts ADD COLUMN number INTEGER;
CREATE UNIQUE INDEX posts_guild_number ON posts (guild_id, number);

-- The embed moderators see in the queue channel.
ALTER TABLE posts ADD COLUMN queue_channel_id INTEGER;
ALTER TABLE posts ADD COLUMN queue_message_id INTEGER;

-- Publishing an approved post to the posts channel. NULL until the post is approved.
ALTER TABLE posts ADD COLUMN publish_state TEXT
    CHECK (publish_state IS NULL OR publish_state IN ('unpublished', 'published', 'failed'));
ALTER TABLE posts ADD COLUMN publish_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN publish_error TEXT;        -- the last failure, from Discord; never post text
ALTER TABLE posts ADD COLUMN publish_next_at TEXT;      -- not tried again before this time
ALTER TABLE posts ADD COLUMN published_channel_id INTEGER;
ALTER TABLE posts ADD COLUMN published_message_id INTEGER;
ALTER TABLE posts ADD COLUMN published_at TEXT;

-- Whether the author was told of the decision: NULL not yet, 'dm_sent', or 'dm_failed' (DMs closed;
-- the decision is still shown in /myposts).
ALTER TABLE posts ADD COLUMN author_notified TEXT
    CHECK (author_notified IS NULL OR author_notified IN ('dm_sent', 'dm_failed'));
ALTER TABLE posts ADD COLUMN author_notified_at TEXT;

-- What the publisher has to do; small, because almost every post is done.
CREATE INDEX posts_to_publish ON posts (publish_next_at)
    WHERE state = 'approved' AND publish_state IN ('unpublished', 'failed');
-- Decisions whose author has not been told yet (a restart between deciding and the DM).
CREATE INDEX posts_to_notify ON posts (decided_at)
    WHERE state IN ('approved', 'rejected') AND author_notified IS NULL;
-- Cooldown and daily cap look at one member's recent posts in one server.
CREATE INDEX posts_author_recent ON posts (guild_id, author_id, created_at);

-- What happened to a post and when. Never holds the post's text: events survive a withdrawal,
-- and go with the post when its author asks to be forgotten.
CREATE TABLE post_events (
    id         INTEGER PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    event      TEXT NOT NULL,        -- created, approved, rejected, withdrawn, published, publish_failed, ...
    actor_id   INTEGER,              -- who caused it; NULL for the bot itself
    detail     TEXT NOT NULL DEFAULT '{}',   -- JSON, no post text
    created_at TEXT NOT NULL
);
CREATE INDEX post_events_post ON post_events (post_id, id);

-- Messages in Discord that still show text the database no longer holds (a withdrawn post's queue
-- embed or published copy, a forgotten member's posts). The bot deletes them and then the row;
-- kept here so that a restart or a Discord outage does not leave the text behind.
CREATE TABLE stale_messages (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER,              -- NULL when the post was already gone when the message was sent
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('queue', 'published')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    next_at     TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (channel_id, message_id)
);
