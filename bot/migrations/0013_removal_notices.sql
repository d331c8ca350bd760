-- What became of the messages in Discord that a withdrawal or "Forget me" set out to delete, so that
-- the member can be told truthfully (/myposts, /mydata): all removed, still being tried, or given up
-- on and where. Keyed by the keyed hash of the member's id (bot/member_keys.py), never the id, so it
-- outlives "Forget me"; kept 30 days after the last message was dealt with.
CREATE TABLE removal_notices (
    id          INTEGER PRIMARY KEY,
    member_key  TEXT NOT NULL,
    guild_id    INTEGER,                     -- the server of a withdrawn post; NULL for "Forget me"
    post_number INTEGER,                     -- the withdrawn post's number; NULL for "Forget me"
    listed      INTEGER NOT NULL DEFAULT 0,  -- messages set out to delete
    removed     INTEGER NOT NULL DEFAULT 0,
    given_up    TEXT NOT NULL DEFAULT '[]',  -- JSON [[guild id, channel id], ...] of those that could not be
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX removal_notices_member ON removal_notices (member_key);
ALTER TABLE stale_messages ADD COLUMN notice_id INTEGER;
