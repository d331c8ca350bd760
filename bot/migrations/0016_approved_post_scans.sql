-- /quote's look through a server's newest approved posts for words no topic knows read each post
-- that matched back from the table, and its topic tags, only for its safety flag: about 35 µs a
-- match, most of a search for a common word ("cold"). The index now carries the stored scan's
-- verdict as well, so the look reads nothing but the index.
DROP INDEX posts_approved_text;
CREATE INDEX posts_approved_text ON posts (guild_id, state, urgent DESC, id, text, scan_sensitive)
    WHERE state = 'approved';
