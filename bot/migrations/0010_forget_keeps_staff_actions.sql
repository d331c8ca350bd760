-- "Forget me" deletes a member's content and identity but keeps, without their id or text, what
-- others need: the staff actions they took (a moderator's decisions, an admin's setting changes),
-- shown under a stable pseudonym, and the rate-limit state that stops share-forget-share floods.

-- One row per forgotten member: its number is their pseudonym ("former member #3"), never reused.
-- It holds no id; nothing links it back to the member.
CREATE TABLE forgotten_members (
    number       INTEGER PRIMARY KEY AUTOINCREMENT,
    forgotten_at TEXT NOT NULL
);
ALTER TABLE audit_log ADD COLUMN actor_pseudonym TEXT;

-- When a forgotten member shared, by a keyed hash of their id (the key below, never shown), kept no
-- longer than the longest posting limit (the daily cap's 24 hours, or the cooldown if longer).
CREATE TABLE rate_limit_marks (
    guild_id   INTEGER NOT NULL,
    member_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX rate_limit_marks_member ON rate_limit_marks (guild_id, member_key, created_at);

-- Random keys the bot makes for itself on first use (the rate-limit hash key).
CREATE TABLE bot_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
