-- Servers the bot was removed from. Their data is deleted once the grace period has passed
-- (bot/privacy.py, GUILD_GRACE); the row goes when the bot is added back, or with that data.
CREATE TABLE departed_guilds (
    guild_id INTEGER PRIMARY KEY,
    left_at  TEXT NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
