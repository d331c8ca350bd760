-- Jobs under leases that name their holder: the bot process (host:pid:random) that took the job.
-- Only the holder of a publishing lease records a failure, so that a process whose lease ran out
-- never marks a post failed that another process is publishing.
ALTER TABLE posts ADD COLUMN publish_owner TEXT;
-- The decision DM is a leased job in the database like publishing: not tried before
-- notify_next_at (a lease while one process sends it, then a pause after a failure).
ALTER TABLE posts ADD COLUMN notify_next_at TEXT;
ALTER TABLE posts ADD COLUMN notify_owner TEXT;
ALTER TABLE posts ADD COLUMN notify_attempts INTEGER NOT NULL DEFAULT 0;
