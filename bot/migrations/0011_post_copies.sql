-- Public messages of the bot that repeat an approved post's text (a /quote reply shown to the
-- channel, a quote posted with Share here): withdrawing the post or Forget me deletes them too,
-- through stale_messages, as for the queue and published messages. No text here, ids only.
CREATE TABLE post_copies (
    post_id    INTEGER NOT NULL,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (post_id, channel_id, message_id)
);
