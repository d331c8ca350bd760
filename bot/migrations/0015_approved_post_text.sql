-- /quote looks for words the taxonomy does not know in a server's newest approved posts. Read
-- through posts_guild_state, each of those posts is a row of its own page of the table (a server's
-- posts sit among every other server's), so one search touched up to 2,000 pages. This index keeps
-- a server's approved posts and their text together, in the order the search reads them
-- (backwards: not urgent first, newest first).
CREATE INDEX posts_approved_text ON posts (guild_id, state, urgent DESC, id, text) WHERE state = 'approved';
