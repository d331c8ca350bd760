-- A block made with Block author on an anonymous post is kept by the post's number, apart from
-- blocks by name: /mod unblock member: then answers the same whether or not that member wrote an
-- anonymous post that was blocked, and Block author on a named post never reveals that its author
-- was already blocked through an anonymous one. A member is blocked while either kind holds.
CREATE TABLE post_blocks (
    guild_id    INTEGER NOT NULL,
    post_number INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    blocked_by  INTEGER NOT NULL,
    blocked_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, post_number)
);
CREATE INDEX post_blocks_member ON post_blocks(guild_id, user_id);
