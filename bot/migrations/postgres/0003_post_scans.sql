-- The SQLite migration 0014 (a shared post's safety scan, kept with the post), for PostgreSQL.
ALTER TABLE posts
    ADD COLUMN scan_tier TEXT CHECK (scan_tier IS NULL OR scan_tier IN ('crisis', 'possible')),
    ADD COLUMN scan_crisis_score DOUBLE PRECISION,
    ADD COLUMN scan_cure_score DOUBLE PRECISION,
    ADD COLUMN scan_cure_claim INTEGER,
    ADD COLUMN scan_sensitive INTEGER,
    ADD COLUMN scan_matched TEXT,
    ADD COLUMN scan_note TEXT,
    ADD COLUMN scan_model TEXT;
