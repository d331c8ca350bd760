-- Topics of reader comments and member posts, and what /quote has shown to whom.

-- One row per (text, topic it talks about). Computed from bot/resources/topics.json when a comment
-- or post is stored, and recomputed for everything when that file changes (its hash is kept in
-- meta under 'topics.taxonomy_hash').
CREATE TABLE topic_tags (
    guild_id  INTEGER NOT NULL,          -- the post's server; 0 for article comments, which every server sees
    topic     TEXT NOT NULL,
    source    TEXT NOT NULL CHECK (source IN ('comment', 'post')),
    item_id   INTEGER NOT NULL,          -- comments.id or posts.id
    score     REAL NOT NULL,             -- how strongly the text speaks of the topic (sum of term weights)
    length    INTEGER NOT NULL,          -- words in the text: a short focused text beats a long one that mentions it once
    keys      TEXT NOT NULL DEFAULT '',  -- the topic's terms (or term groups) found in the text, space-separated
    quotable  INTEGER NOT NULL,          -- 1 for comments and approved posts; follows posts.state (triggers below)
    sensitive INTEGER NOT NULL DEFAULT 0,-- touches on self-harm or suicide: offered only under mental health
    PRIMARY KEY (guild_id, topic, source, item_id)
) WITHOUT ROWID;
-- Finding one text's tags (retagging, removing a post).
CREATE INDEX topic_tags_item ON topic_tags (source, item_id);
-- A server's best texts on a topic, read in order without sorting: the score spread over the
-- text's length (bot/quotes/model.py uses the same expression; FOCUS_WORDS there is the 120).
CREATE INDEX topic_tags_rank ON topic_tags (guild_id, topic, quotable, score / (1.0 + length / 120.0) DESC);

-- A post becomes quotable when approved, and stops being quotable when rejected or withdrawn.
CREATE TRIGGER topic_tags_post_state AFTER UPDATE OF state ON posts
WHEN old.state IS NOT new.state
BEGIN
    UPDATE topic_tags SET quotable = (new.state = 'approved') WHERE source = 'post' AND item_id = new.id;
END;
CREATE TRIGGER topic_tags_post_deleted AFTER DELETE ON posts
BEGIN
    DELETE FROM topic_tags WHERE source = 'post' AND item_id = old.id;
END;
CREATE TRIGGER topic_tags_comment_deleted AFTER DELETE ON comments
BEGIN
    DELETE FROM topic_tags WHERE source = 'comment' AND item_id = old.id;
END;

-- What a member has already been shown for one search, so that "Another" never repeats.
-- A new search for the same words starts over.
CREATE TABLE quote_seen (
    guild_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    query_key TEXT NOT NULL,             -- the search as typed, folded to lower case
    source    TEXT NOT NULL,
    item_id   INTEGER NOT NULL,
    shown_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id, query_key, source, item_id)
) WITHOUT ROWID;
CREATE INDEX quote_seen_user ON quote_seen (user_id);

-- Every quote shown: which one, to whom, in which channel, when (not what was searched for).
-- A channel is not given the quote it was given last time; a member's rows go when they ask to be
-- forgotten.
CREATE TABLE quote_history (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER,
    user_id    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    item_id    INTEGER NOT NULL,
    shown_at   TEXT NOT NULL
);
CREATE INDEX quote_history_channel ON quote_history (guild_id, channel_id, id);
CREATE INDEX quote_history_user ON quote_history (user_id);
