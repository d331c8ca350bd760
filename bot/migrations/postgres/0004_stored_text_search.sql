-- Full-text search reads a stored tsvector instead of computing to_tsvector('english', text) for
-- every row it filters and ranks (bot/dialect.py): the words of a comment or sentence are worked
-- out once, when it is written. The GIN indexes move from the expression to the column.
ALTER TABLE comments ADD COLUMN text_search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', text)) STORED;
DROP INDEX comments_text_search;
CREATE INDEX comments_text_search ON comments USING gin (text_search);

ALTER TABLE sentences ADD COLUMN text_search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', text)) STORED;
DROP INDEX sentences_text_search;
CREATE INDEX sentences_text_search ON sentences USING gin (text_search);
