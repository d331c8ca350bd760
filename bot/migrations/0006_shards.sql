-- Identify turns shared by every process of the bot: Discord lets one session per bucket
-- (shard_id % max_concurrency) identify every 5 seconds. next_at is the Unix time from which the
-- bucket's next session may identify.
CREATE TABLE identify_turns (
    bucket  INTEGER PRIMARY KEY,
    next_at REAL NOT NULL
);
