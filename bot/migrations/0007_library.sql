-- A library of articles. Articles loaded by the host (`fibrocircle ingest`, data/articles/) are
-- shared: every server may show them. An article an admin uploaded belongs to that server only.
-- Which articles a server shows, and which one is featured, are server settings
-- (bot/guild_settings.py: hidden_articles, featured_article).

-- NULL: shared; otherwise the server that uploaded it. Existing articles stay shared.
ALTER TABLE articles ADD COLUMN guild_id INTEGER;
-- The verified reference found beside the file (NAME.reference.json), as JSON; NULL when none.
ALTER TABLE articles ADD COLUMN reference_json TEXT;
CREATE INDEX articles_guild ON articles (guild_id);

-- An article file an admin uploaded, kept while they look at the preview. Confirming loads it
-- into the library and deletes this row; cancelling deletes it; rows older than a day are
-- removed at the next upload.
CREATE TABLE article_uploads (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    file_name  TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX article_uploads_user ON article_uploads (user_id);
