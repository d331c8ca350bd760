-- Articles and what members read from them.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE articles (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    byline       TEXT,
    source_name  TEXT NOT NULL,          -- file name it was loaded from
    content_hash TEXT NOT NULL UNIQUE,   -- sha256 of the parsed content: loading twice changes nothing
    loaded_at    TEXT NOT NULL,
    card_json    TEXT                    -- the study card, computed when the article is loaded
);

CREATE TABLE paragraphs (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,         -- 1-based, in reading order
    text       TEXT NOT NULL,
    UNIQUE (article_id, position)
);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,         -- 1-based, in page order
    author     TEXT,                     -- NULL when the page names nobody
    reply_to   TEXT,                     -- "Shirley" for a comment opened by "@ Shirley:"
    text       TEXT NOT NULL,
    UNIQUE (article_id, position)
);

CREATE VIRTUAL TABLE paragraphs_fts USING fts5(
    text, content='paragraphs', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER paragraphs_ai AFTER INSERT ON paragraphs BEGIN
    INSERT INTO paragraphs_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER paragraphs_ad AFTER DELETE ON paragraphs BEGIN
    INSERT INTO paragraphs_fts(paragraphs_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

CREATE VIRTUAL TABLE comments_fts USING fts5(
    text, content='comments', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER comments_ai AFTER INSERT ON comments BEGIN
    INSERT INTO comments_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER comments_ad AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts(comments_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

-- Per-guild settings: one row per changed setting; defaults live in code (bot/guild_settings.py).
CREATE TABLE guild_settings (
    guild_id   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,            -- JSON
    updated_at TEXT NOT NULL,
    updated_by INTEGER,
    PRIMARY KEY (guild_id, key)
);

-- Member posts. The author id is kept even for anonymous posts so that the author can be told
-- of the decision and can withdraw or delete the post; nobody else is shown it.
CREATE TABLE posts (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    author_id      INTEGER NOT NULL,
    author_name    TEXT,                 -- display name when the member chose to post under it
    anonymous      INTEGER NOT NULL DEFAULT 1,
    text           TEXT NOT NULL,
    topic_hint     TEXT,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'approved', 'rejected', 'withdrawn')),
    urgent         INTEGER NOT NULL DEFAULT 0,
    flags          TEXT NOT NULL DEFAULT '[]',  -- JSON list of safety flags
    interaction_id INTEGER UNIQUE,       -- the same interaction delivered twice makes one post
    created_at     TEXT NOT NULL,
    decided_by     INTEGER,
    decided_at     TEXT,
    reason         TEXT
);
CREATE INDEX posts_guild_state ON posts (guild_id, state, urgent DESC, id);
CREATE INDEX posts_author ON posts (author_id, guild_id);

CREATE TABLE blocked_members (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    blocked_by INTEGER NOT NULL,
    blocked_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Who did what, when. Never holds a member's post text.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER,
    actor_id   INTEGER,
    action     TEXT NOT NULL,
    target     TEXT,
    detail     TEXT NOT NULL DEFAULT '{}',   -- JSON
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_guild ON audit_log (guild_id, id);
